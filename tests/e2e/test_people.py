"""People sign in (issue 17): the server trusts tests/oidc_provider.py as its identity
provider; an owner invites Ana as admin; Ana signs in with `auth login` (the device flow: the
test reads the user code the CLI prints and approves it at the provider, as Ana's browser
would), invites Bob as viewer; Bob signs in, can read but not write (nor can his personal
token), and signs out. The owner
token lost, `server admin create-token` on the server host gives access back."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.e2e.conftest import CLI, Cli, Server, _base_env, start_server
from tests.oidc_provider import OidcProvider


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcProvider]:
    with OidcProvider() as provider:
        yield provider


@pytest.fixture(scope="module")
def people_server(idp: OidcProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    corp = {"name": "corp", "issuer": idp.issuer, "client_id": idp.client_id}
    env = {"CHAINPROOF_IDENTITY_PROVIDERS": json.dumps([corp])}
    yield from start_server(
        tmp_path_factory.mktemp("server"), run_expiry_seconds=600, extra_env=env
    )


def _person(server: Server, tmp_path: Path, login: str) -> Cli:
    """The CLI of a person: their own config dir, no token, no URL (login gives it)."""
    env = _base_env(tmp_path / login)
    env["XDG_CONFIG_HOME"] = str(tmp_path / login / "config")
    return Cli(env=env, cwd=tmp_path)


def _login(person: Cli, server: Server, idp: OidcProvider, login: str) -> str:
    """`auth login`, approved at the provider as ``login``'s browser would; its stderr."""
    proc = subprocess.Popen(
        [CLI, "--url", server.url, "auth", "login"],
        env=person.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()  # "To sign in, open URL and enter the code XXXX-XXXX"
    found = re.search(r"open (\S+) and enter the code ([A-Z]{4}-[A-Z]{4})", first)
    if not found:
        raise AssertionError(first + proc.communicate(timeout=60)[1])
    approved = httpx.post(found[1], data={"user_code": found[2], "login": login}, timeout=10)
    assert approved.json() == {"approved": True}
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, first + err
    return first + err


def test_people_sign_in_with_the_device_flow_and_a_viewer_reads_but_cannot_write(
    people_server: Server, idp: OidcProvider, tmp_path: Path
) -> None:
    server = people_server
    owner = Cli(env={**_base_env(tmp_path), "CHAINPROOF_URL": server.url}, cwd=tmp_path)
    owner("org", "invite", "create", "--email", "ana@example.com", "--role", "admin",
          token=server.owner_token)  # fmt: skip
    idp.add_person("ana", "ana@example.com")
    idp.add_person("bob", "bob@example.com")

    ana = _person(server, tmp_path, "ana")
    said = _login(ana, server, idp, "ana")
    assert "Signed in as ana@example.com" in said and "Joined organisation acme" in said
    saved = Path(ana.env["XDG_CONFIG_HOME"]) / "chainproof" / "credentials.json"
    assert saved.stat().st_mode & 0o777 == 0o600
    me = ana.json("auth", "whoami")
    assert isinstance(me, dict) and me["orgs"] == [{"name": "acme", "role": "admin"}]
    ana("project", "create", "--name", "shop")
    ana("org", "invite", "create", "--email", "bob@example.com", "--role", "viewer")

    bob = _person(server, tmp_path, "bob")
    _login(bob, server, idp, "bob")
    assert bob.json("auth", "whoami")["orgs"] == [{"name": "acme", "role": "viewer"}]  # type: ignore[index]
    assert [p["name"] for p in bob.json("project", "list")] == ["shop"]  # type: ignore[union-attr]
    members = bob.json("org", "member", "list")
    assert {m["email"]: m["role"] for m in members if m["email"]} == {  # type: ignore[union-attr]
        "ana@example.com": "admin", "bob@example.com": "viewer",
    }  # fmt: skip
    for refused in (
        ("project", "create", "--name", "nope"),
        ("org", "invite", "create", "--email", "eve@example.com", "--role", "viewer"),
        ("api-token", "create", "--name", "mine"),
        ("org", "member", "update", "bob@example.com", "--role", "admin"),
    ):
        denied = bob(*refused, check=False)
        assert denied.returncode == 3 and "Error:" in denied.stderr, (refused, denied.stderr)

    mine = bob.json("api-token", "create", "--personal", "--name", "laptop", "--expires", "1d")
    assert isinstance(mine, dict) and mine["role"] == "viewer"  # a token of Bob's own role
    assert bob("--url", server.url, "project", "list", token=mine["token"]).returncode == 0
    denied = bob("--url", server.url, "project", "create", "--name", "x", token=mine["token"],
                 check=False)  # fmt: skip
    assert denied.returncode == 3

    bob("auth", "logout")
    assert not (Path(bob.env["XDG_CONFIG_HOME"]) / "chainproof" / "credentials.json").exists()
    gone = bob("--url", server.url, "project", "list", check=False)
    assert gone.returncode == 3 and "auth login" in gone.stderr

    recovered = owner.json(
        "server", "admin", "create-token", "--data-dir", str(server.data_dir), "--org", "acme"
    )
    assert isinstance(recovered, dict)
    status = owner.json("auth", "status", token=recovered["token"])
    assert status["token"]["role"] == "owner"  # type: ignore[index]


def test_a_project_admin_sees_and_administers_only_their_project(
    people_server: Server, idp: OidcProvider, tmp_path: Path
) -> None:
    """Cara, a viewer of the organisation made admin of project kiosk, sees only kiosk,
    creates and blocks its workflows, and neither reaches depot nor grants project roles; once
    her project role is removed she sees every project again (docs/identity.md)."""
    server = people_server
    owner = Cli(env={**_base_env(tmp_path), "CHAINPROOF_URL": server.url}, cwd=tmp_path)
    owner("org", "invite", "create", "--email", "cara@example.com", "--role", "viewer",
          token=server.owner_token)  # fmt: skip
    for project in ("kiosk", "depot"):
        owner("project", "create", "--name", project, token=server.owner_token)
    idp.add_person("cara", "cara@example.com")
    cara = _person(server, tmp_path, "cara")
    _login(cara, server, idp, "cara")

    granted = owner.json(
        "project", "member", "add", "cara@example.com", "--project", "kiosk", "--role", "admin",
        token=server.owner_token,
    )  # fmt: skip
    assert isinstance(granted, dict) and granted["role"] == "admin"
    listed = cara.json("project", "member", "list", "--project", "kiosk")
    assert [(m["email"], m["role"]) for m in listed] == [("cara@example.com", "admin")]  # type: ignore[index, union-attr]
    assert [p["name"] for p in cara.json("project", "list")] == ["kiosk"]  # type: ignore[union-attr]

    cara("workflow", "create", "--name", "build", "--project", "kiosk")
    cara("workflow", "block", "--name", "build", "--project", "kiosk", "--reason", "audit")
    hidden = cara("workflow", "create", "--name", "build", "--project", "depot", check=False)
    assert hidden.returncode == 3 and "project 'depot' not found" in hidden.stderr
    refused = cara("project", "member", "add", "cara@example.com", "--project", "kiosk",
                   "--role", "viewer", check=False)  # fmt: skip
    assert refused.returncode == 3 and "owner or admin" in refused.stderr

    owner("project", "member", "remove", "cara@example.com", "--project", "kiosk",
          token=server.owner_token)  # fmt: skip
    names = {p["name"] for p in cara.json("project", "list")}  # type: ignore[union-attr]
    assert {"kiosk", "depot"} <= names
    denied = cara("workflow", "unblock", "--name", "build", "--project", "kiosk", check=False)
    assert denied.returncode == 3  # a viewer of the organisation again
