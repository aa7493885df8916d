"""A CI job's credentials without a stored secret: its OIDC ID token, exchanged for a
short-lived chainproof token (docs/ci-identity.md).

Where the ID token comes from, first match wins:

- ``CHAINPROOF_ID_TOKEN``: the token itself, e.g. GitLab CI's ``id_tokens:`` variable of that
  name, or any CI that can put an ID token in the environment;
- GitHub Actions (``GITHUB_ACTIONS=true``): requested from ``ACTIONS_ID_TOKEN_REQUEST_URL``
  with ``ACTIONS_ID_TOKEN_REQUEST_TOKEN``, for the audience asked for (the job needs
  ``permissions: id-token: write``).

The exchanged token is kept beside the attestation state file (mode 0600) so that the later
steps of the job (``add``, ``push``) use it instead of exchanging again. The server exchanges an
ID token once (docs/ci-identity.md, "Replays"): a job whose ID token is given to it
(``CHAINPROOF_ID_TOKEN``, GitLab's one per job) keeps the exchanged token after ``push`` for its
next attestation, while a GitHub job requests a fresh ID token whenever it needs one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from chainproof.errors import InvalidInput, NetworkError, Unauthorized

__all__ = ["DEFAULT_AUDIENCE", "ci_token", "forget", "id_token", "release", "token_path"]

DEFAULT_AUDIENCE = "chainproof"
ID_TOKEN_VARIABLE = "CHAINPROOF_ID_TOKEN"  # noqa: S105 (a variable name, not a secret)
AUDIENCE_VARIABLE = "CHAINPROOF_OIDC_AUDIENCE"


def id_token(
    environ: Mapping[str, str],
    *,
    audience: str | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 30.0,
) -> str | None:
    """The job's ID token, or None outside a CI job that offers one."""
    given = environ.get(ID_TOKEN_VARIABLE, "").strip()
    if given:
        return given
    if environ.get("GITHUB_ACTIONS") != "true":
        return None
    url = environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    request_token = environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not url or not request_token:
        raise Unauthorized(
            "no API token, and this GitHub Actions job may not request an ID token",
            hint="grant the job `permissions: id-token: write`, or set CHAINPROOF_TOKEN",
        )
    wanted = audience or environ.get(AUDIENCE_VARIABLE) or DEFAULT_AUDIENCE
    separator = "&" if "?" in url else "?"
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            reply = client.get(
                f"{url}{separator}{urlencode({'audience': wanted})}",
                headers={"Authorization": f"bearer {request_token}"},
            )
    except httpx.HTTPError as exc:
        raise NetworkError(f"cannot fetch the job's ID token from GitHub: {exc}") from None
    value = reply.json().get("value") if reply.status_code == 200 else None
    if not isinstance(value, str) or not value:
        raise Unauthorized(
            f"GitHub refused the job's ID token request (HTTP {reply.status_code})",
            hint="grant the job `permissions: id-token: write`",
        )
    return value


def token_path(state_file: Path) -> Path:
    """Where the exchanged token of the attestation at ``state_file`` is kept."""
    return state_file.with_name(state_file.stem + ".token.json")


def ci_token(
    state_file: Path,
    environ: Mapping[str, str],
    *,
    url: str,
    org: str | None,
    audience: str | None = None,
    run_id: str | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 30.0,
) -> str | None:
    """A chainproof token for this CI job: the one exchanged earlier in the job if it is still
    valid, else a new one for the job's ID token; None when the job offers no ID token.
    ``run_id``: the run a later step continues, sent with the exchange because the server
    exchanges one ID token (GitLab's is one per job) again only for the run it started."""
    saved = _saved(token_path(state_file))
    if saved:
        return saved
    token = id_token(environ, audience=audience, transport=transport, timeout=timeout)
    if token is None:
        return None
    if not org:
        raise InvalidInput(
            "exchanging the CI job's ID token needs the organisation's name",
            hint="pass --org or set CHAINPROOF_ORG",
        )
    from chainproof.client.http import ApiClient

    with ApiClient(url, None, timeout=timeout, transport=transport) as api:
        answer = api.exchange_id_token(org, token, run_id)
    _save(token_path(state_file), answer)
    return str(answer["token"])


def forget(state_file: Path) -> None:
    """Delete the kept token."""
    token_path(state_file).unlink(missing_ok=True)


def release(state_file: Path, environ: Mapping[str, str]) -> None:
    """The attestation is over (or replaced): delete the kept token, unless the job's ID token
    was given to it (``CHAINPROOF_ID_TOKEN``) and the kept token may start runs: that ID token
    cannot be exchanged again for a new run, so the job's next attestation needs this one."""
    path = token_path(state_file)
    given = bool(environ.get(ID_TOKEN_VARIABLE, "").strip())
    try:
        bound = json.loads(path.read_text(encoding="utf-8")).get("run_id") is not None
    except (OSError, ValueError, AttributeError):
        bound = True  # nothing usable kept
    if not given or bound:
        path.unlink(missing_ok=True)


def _saved(path: Path) -> str | None:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        token, expires = str(data["token"]), data.get("expires_at")
        if expires and datetime.fromisoformat(str(expires)) <= datetime.now(UTC):
            return None  # a job longer than the token's life exchanges a fresh ID token
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return token


def _save(path: Path, answer: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        kept = {"token": answer["token"], "expires_at": answer.get("expires_at")}
        json.dump({**kept, "run_id": answer.get("run_id")}, out)
