"""``auth whoami`` and ``auth logout`` with a session ``auth login`` saved, and the saved
session used by every command when no CHAINPROOF_TOKEN is set (CliRunner, MockTransport)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from tests.unit.cli.test_cli_commands import URL, FakeApi, problem
from typer.testing import CliRunner

from chainproof.cli._common import CliContext
from chainproof.cli.main import app
from chainproof.client import credentials

SESSION = "cps_personalSESSIONpersonalSESSION1234567"


def _run(api: FakeApi, tmp_path: Path, *args: str, **env: str) -> Any:
    obj = CliContext(transport=httpx.MockTransport(api))
    environ = {"CHAINPROOF_TOKEN": "", "XDG_CONFIG_HOME": str(tmp_path), **env}
    return CliRunner().invoke(app, list(args), obj=obj, env=environ)


def _saved(tmp_path: Path) -> Path:
    saved = credentials.SavedSession(
        url=URL, token=SESSION, expires_at="2999-01-01T00:00:00Z", email="ana@example.com"
    )
    return credentials.save({"XDG_CONFIG_HOME": str(tmp_path)}, saved)


def test_commands_use_the_saved_session_and_name_the_organisation(tmp_path: Path) -> None:
    _saved(tmp_path)
    api = FakeApi()
    api.on("GET", "/api/v1/projects", {"items": [], "next_cursor": None})
    result = _run(api, tmp_path, "--org", "acme", "project", "list", "-o", "json")
    assert result.exit_code == 0, result.output
    sent = api.requests[0]
    assert str(sent.url).startswith(URL)  # no --url: the server signed in to
    assert sent.headers["authorization"] == f"Bearer {SESSION}"
    assert sent.headers["x-chainproof-org"] == "acme"
    token = _run(api, tmp_path, "--url", URL, "project", "list", CHAINPROOF_TOKEN="cp_robot")
    assert token.exit_code == 0 and api.requests[-1].headers["authorization"] == "Bearer cp_robot"


def test_whoami_shows_the_person_and_their_organisations(tmp_path: Path) -> None:
    _saved(tmp_path)
    api = FakeApi()
    me = {
        "user": {"id": "u1", "email": "ana@example.com", "name": "Ana", "issuer": "https://idp"},
        "session": {"id": "s1", "expires_at": "2999-01-01T00:00:00Z"},
        "orgs": [{"name": "acme", "role": "viewer"}, {"name": "umbrella", "role": "admin"}],
    }
    api.on("GET", "/api/v1/auth/session", me)
    result = _run(api, tmp_path, "auth", "whoami")
    assert result.exit_code == 0, result.output
    assert "ana@example.com" in result.stdout and "umbrella" in result.stdout
    assert "admin" in result.stdout


def test_logout_revokes_on_the_server_and_deletes_the_file(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    api = FakeApi()
    api.on("DELETE", "/api/v1/auth/session", lambda r: httpx.Response(204))
    result = _run(api, tmp_path, "auth", "logout")
    assert result.exit_code == 0, result.output
    assert api.requests[0].headers["authorization"] == f"Bearer {SESSION}"
    assert not path.exists()
    again = _run(api, tmp_path, "auth", "logout")
    assert again.exit_code == 0 and "Not signed in" in again.stderr


def test_logout_of_a_session_the_server_no_longer_knows_still_forgets_it(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    api = FakeApi()
    api.on("DELETE", "/api/v1/auth/session", lambda r: problem(401, "unauthorized", "expired"))
    assert _run(api, tmp_path, "auth", "logout").exit_code == 0
    assert not path.exists()


def test_org_invite_and_member_commands_send_what_the_api_expects(tmp_path: Path) -> None:
    api = FakeApi()
    invitation = {"id": "i1", "email": "bob@example.com", "role": "viewer", "created_at": "t"}
    api.on("POST", "/api/v1/org/invitations", invitation, status=201)
    member = {"user_id": "u2", "email": "bob@example.com", "name": "Bob", "role": "member",
              "since": "t", "last_sign_in_at": None}  # fmt: skip
    api.on("PATCH", "/api/v1/org/members/bob@example.com", member)
    args = ("--url", URL, "--token", "cp_owner")
    invited = _run(api, tmp_path, *args, "org", "invite", "create", "--email", "bob@example.com",
                   "--role", "viewer", "-o", "json")  # fmt: skip
    assert invited.exit_code == 0, invited.output
    assert api.body(0) == {"email": "bob@example.com", "role": "viewer"}
    updated = _run(api, tmp_path, *args, "org", "member", "update", "bob@example.com", "--role",
                   "member", "-o", "json")  # fmt: skip
    assert updated.exit_code == 0, updated.output
    assert api.body(1) == {"role": "member"}
    bad = _run(api, tmp_path, *args, "org", "member", "update", "bob@example.com", "--role", "boss")
    assert bad.exit_code == 2
