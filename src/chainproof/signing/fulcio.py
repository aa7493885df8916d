"""Fulcio's certificate extensions for a CI job's verified OIDC claims.

Fulcio writes a CI job's identity into its signing certificate under OIDs
``1.3.6.1.4.1.57264.1.*`` (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md), so
that any Sigstore verifier can apply an identity policy to it (e.g. "signed by a job of
repository X at a tag"). :func:`extensions` maps the claims of a GitHub Actions or GitLab CI
ID token the control plane verified to those extensions, as Fulcio's ``github-workflow`` and
``gitlab-pipeline`` issuers do: the current ones hold a DER UTF8String, the deprecated GitHub
ones (``.2`` to ``.6``) the raw string, as Fulcio still writes them and sigstore-python reads
them. A claim the token lacks leaves its extension out. Other issuers map to nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ARC", "RAW", "extensions"]

ARC = "1.3.6.1.4.1.57264.1"
#: Deprecated extensions whose value is the raw UTF-8 string, not a DER UTF8String.
RAW = frozenset(f"{ARC}.{n}" for n in (1, 2, 3, 4, 5, 6))
_GITHUB = "https://github.com"

Claims = Mapping[str, Any]


def _get(claims: Claims, name: str) -> str | None:
    value = claims.get(name)
    return str(value) if isinstance(value, (str, int)) and str(value) else None


def _join(base: str, *names: str, sep: str = "/") -> Callable[[Claims], str | None]:
    def value(claims: Claims) -> str | None:
        parts = [_get(claims, n) for n in names]
        return None if None in parts else base + sep + sep.join(str(p) for p in parts)

    return value


def _claim(name: str) -> Callable[[Claims], str | None]:
    return lambda claims: _get(claims, name)


def _github_run(claims: Claims) -> str | None:
    repo, run, attempt = (_get(claims, n) for n in ("repository", "run_id", "run_attempt"))
    if not (repo and run and attempt):
        return None
    return f"{_GITHUB}/{repo}/actions/runs/{run}/attempts/{attempt}"


_GITHUB_MAP: dict[int, Callable[[Claims], str | None]] = {
    2: _claim("event_name"),
    3: _claim("sha"),
    4: _claim("workflow"),
    5: _claim("repository"),
    6: _claim("ref"),
    9: _join(_GITHUB, "job_workflow_ref"),
    10: _claim("job_workflow_sha"),
    11: _claim("runner_environment"),
    12: _join(_GITHUB, "repository"),
    13: _claim("sha"),
    14: _claim("ref"),
    15: _claim("repository_id"),
    16: _join(_GITHUB, "repository_owner"),
    17: _claim("repository_owner_id"),
    18: _join(_GITHUB, "workflow_ref"),
    19: _claim("workflow_sha"),
    20: _claim("event_name"),
    21: _github_run,
    22: _claim("repository_visibility"),
}


def _gitlab_map(issuer: str) -> dict[int, Callable[[Claims], str | None]]:
    def ref(claims: Claims) -> str | None:
        name, kind = _get(claims, "ref"), _get(claims, "ref_type")
        if not name or kind not in ("branch", "tag"):
            return None
        return f"refs/{'heads' if kind == 'branch' else 'tags'}/{name}"

    def job(claims: Claims) -> str | None:
        path, job_id = _get(claims, "project_path"), _get(claims, "job_id")
        return f"{issuer}/{path}/-/jobs/{job_id}" if path and job_id else None

    return {
        9: _join("https:/", "ci_config_ref_uri"),
        10: _claim("ci_config_sha"),
        11: _claim("runner_environment"),
        12: _join(issuer, "project_path"),
        13: _claim("sha"),
        14: ref,
        15: _claim("project_id"),
        16: _join(issuer, "namespace_path"),
        17: _claim("namespace_id"),
        18: _join("https:/", "ci_config_ref_uri"),
        19: _claim("ci_config_sha"),
        20: _claim("pipeline_source"),
        21: job,
        22: _claim("project_visibility"),
    }


def extensions(provider: str, issuer: str, claims: Claims) -> dict[str, str]:
    """Dotted OID → value for the claims of a ``github`` or ``gitlab`` job (the issuer
    extensions themselves are the CA's to write)."""
    if provider == "github":
        table = _GITHUB_MAP
    elif provider == "gitlab":
        table = _gitlab_map(issuer.rstrip("/"))
    else:
        return {}
    out: dict[str, str] = {}
    for number, value_of in table.items():
        value = value_of(claims)
        if value is not None:
            out[f"{ARC}.{number}"] = value
    return out
