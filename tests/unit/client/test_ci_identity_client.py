"""Where a CI job's ID token comes from (client/ci_identity.py): CHAINPROOF_ID_TOKEN (GitLab's
id_tokens), GitHub Actions' request endpoint, or nowhere; and the exchanged token kept for
the job's later steps until it expires. No server: httpx.MockTransport."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from chainproof.client import ci_identity
from chainproof.errors import InvalidInput, Unauthorized

GITHUB = {
    "GITHUB_ACTIONS": "true",
    "ACTIONS_ID_TOKEN_REQUEST_URL": "https://gh.example/token?api-version=2.0",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-secret",
}


def _github(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("authorization") != "bearer request-secret":
            return httpx.Response(401)
        return httpx.Response(200, json={"value": f"jwt-for-{request.url.params['audience']}"})

    return httpx.MockTransport(handle)


def test_github_actions_jobs_request_their_token_for_the_audience() -> None:
    seen: list[httpx.Request] = []
    token = ci_identity.id_token(GITHUB, audience="cp-prod", transport=_github(seen))
    assert token == "jwt-for-cp-prod"
    assert seen[0].url.params["api-version"] == "2.0"
    default = ci_identity.id_token(GITHUB, transport=_github(seen))
    assert default == "jwt-for-chainproof"
    env = {**GITHUB, "CHAINPROOF_OIDC_AUDIENCE": "from-env"}
    assert ci_identity.id_token(env, transport=_github(seen)) == "jwt-for-from-env"


def test_a_given_id_token_wins_and_no_ci_means_none() -> None:
    assert ci_identity.id_token({**GITHUB, "CHAINPROOF_ID_TOKEN": " gitlab-jwt\n"}) == "gitlab-jwt"
    assert ci_identity.id_token({"GITLAB_CI": "true"}) is None
    assert ci_identity.id_token({}) is None


def test_a_github_job_without_id_token_permission_is_told_how_to_grant_it() -> None:
    with pytest.raises(Unauthorized) as refused:
        ci_identity.id_token({"GITHUB_ACTIONS": "true"})
    assert "id-token: write" in (refused.value.hint or "")
    wrong = {**GITHUB, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "stale"}
    with pytest.raises(Unauthorized, match="HTTP 401"):
        ci_identity.id_token(wrong, transport=_github([]))


def test_the_exchanged_token_is_kept_for_the_job_until_it_expires(tmp_path: Path) -> None:
    state = tmp_path / "chainproof-attestation.json"
    exchanges: list[dict[str, str]] = []

    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/exchange"):
            exchanges.append(json.loads(request.content))
            answer = {"token": f"cp_{len(exchanges)}", "expires_at": "2999-01-01T00:00:00Z"}
            return httpx.Response(200, json=answer)
        return httpx.Response(404)

    env = {"CHAINPROOF_ID_TOKEN": "jwt"}
    transport = httpx.MockTransport(server)

    def token(org: str | None, environ: dict[str, str] = env) -> str | None:
        return ci_identity.ci_token(
            state, environ, url="http://cp.example", org=org, transport=transport
        )

    with pytest.raises(InvalidInput, match="organisation's name"):
        token(None)
    assert token("acme") == "cp_1"
    assert exchanges == [{"org": "acme", "id_token": "jwt"}]
    kept = ci_identity.token_path(state)
    assert kept.stat().st_mode & 0o777 == 0o600
    assert token("acme") == "cp_1"
    assert len(exchanges) == 1

    kept.write_text(json.dumps({"token": "cp_old", "expires_at": "2000-01-01T00:00:00Z"}))
    assert token("acme") == "cp_2"
    ci_identity.forget(state)
    assert not kept.exists()
    assert token("acme", {}) is None


def test_a_given_id_token_keeps_its_exchanged_token_for_the_jobs_next_run(
    tmp_path: Path,
) -> None:
    """The server exchanges an ID token once: a job whose ID token is given to it keeps the
    exchanged token after its attestation, unless that token is bound to one run; a job
    that requests ID tokens (GitHub) lets it go."""
    state = tmp_path / "chainproof-attestation.json"
    kept = ci_identity.token_path(state)
    for environ, answer, stays in (
        ({"CHAINPROOF_ID_TOKEN": "jwt"}, {"token": "cp_1", "run_id": None}, True),
        ({"CHAINPROOF_ID_TOKEN": "jwt"}, {"token": "cp_1", "run_id": "r-1"}, False),
        ({"GITHUB_ACTIONS": "true"}, {"token": "cp_1", "run_id": None}, False),
    ):
        kept.write_text(json.dumps({**answer, "expires_at": "2999-01-01T00:00:00Z"}))
        ci_identity.release(state, environ)
        assert kept.exists() is stays, (environ, answer)
    ci_identity.release(state, {"CHAINPROOF_ID_TOKEN": "jwt"})  # nothing kept: no error
    assert not kept.exists()
