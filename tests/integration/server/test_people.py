"""People (issue 17): sign-in with an identity provider's ID token, memberships, invitations
accepted at first sign-in, the role rules and the last owner. SQLite and PostgreSQL; the
identity provider is tests/oidc_provider.py on loopback."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from tests.integration.conftest import Env
from tests.oidc_provider import OidcProvider

from chainproof.errors import NotFound
from chainproof.server.identity_provider import IdentityProvider

CLIENT = "chainproof-cli"


@pytest.fixture
def idp(app_client: Env) -> Iterator[OidcProvider]:
    """The provider, configured on the app (allowed domains: example.com, corp.test)."""
    app = app_client.client.app
    before = app.state.settings  # type: ignore[attr-defined]
    with OidcProvider() as provider:
        corp = IdentityProvider(
            name="corp",
            issuer=provider.issuer,
            client_id=CLIENT,
            allowed_email_domains=["example.com", "corp.test"],
        )
        app.state.settings = before.model_copy(update={"identity_providers": [corp]})  # type: ignore[attr-defined]
        try:
            yield provider
        finally:
            app.state.settings = before  # type: ignore[attr-defined]


def _person(idp: OidcProvider, email: str, **claims: Any) -> str:
    """An ID token of a person whose provider verified ``email``."""
    body = {"sub": f"sub-{email}", "email": email, "email_verified": True, "name": email}
    return idp.mint({**body, **claims}, audience=CLIENT)


def _sign_in(env: Env, id_token: str) -> Any:
    return env.client.post("/api/v1/auth/sessions", json={"id_token": id_token})


def _email() -> str:
    return f"p{secrets.token_hex(4)}@example.com"


def _as(env: Env, session: str, org: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {session}"}
    if org:
        headers["X-Chainproof-Org"] = org
    return headers


def test_an_invited_person_signs_in_joins_with_the_role_and_a_viewer_reads_but_cannot_write(
    app_client: Env, idp: OidcProvider
) -> None:
    email = _email()
    providers = app_client.client.get("/api/v1/auth/providers").json()
    assert providers == [{"name": "corp", "issuer": idp.issuer, "client_id": CLIENT}]
    refused = _sign_in(app_client, _person(idp, email))  # not invited yet
    assert refused.status_code == 403 and "not a member" in refused.json()["detail"]

    invited = app_client.post("/org/invitations", {"email": email.upper(), "role": "viewer"})
    assert invited.status_code == 201, invited.text
    assert invited.json()["email"] == email
    assert (
        app_client.post("/org/invitations", {"email": email, "role": "member"}).status_code == 409
    )
    assert [i["email"] for i in app_client.get("/org/invitations").json()] == [email]

    reply = _sign_in(app_client, _person(idp, email))
    assert reply.status_code == 201, reply.text
    session = reply.json()["token"]
    assert session.startswith("cps_") and reply.json()["joined"] == [app_client.org["name"]]
    assert app_client.get("/org/invitations").json() == []  # accepted

    me = app_client.client.get("/api/v1/whoami", headers=_as(app_client, session)).json()
    assert (me["org"]["name"], me["token"]["role"], me["user"]["email"]) == (
        app_client.org["name"], "viewer", email,
    )  # fmt: skip
    reads = app_client.client.get("/api/v1/projects", headers=_as(app_client, session))
    assert reads.status_code == 200
    write = app_client.client.post(
        "/api/v1/projects", json={"name": "nope"}, headers=_as(app_client, session)
    )
    assert write.status_code == 403
    members = {m["email"]: m["role"] for m in app_client.get("/org/members").json()}
    assert members[email] == "viewer"

    again = _sign_in(app_client, _person(idp, email))  # same person, no new user
    assert again.status_code == 201 and again.json()["user"]["id"] == reply.json()["user"]["id"]
    audit = app_client.get("/audit", params={"limit": 50}).json()["items"]
    actions = {e["action"] for e in audit}
    assert {"invitation.create", "invitation.accept", "session.create"} <= actions


def test_sign_in_refuses_wrong_issuer_audience_unverified_email_and_other_domains(
    app_client: Env, idp: OidcProvider
) -> None:
    email = _email()
    app_client.post("/org/invitations", {"email": email, "role": "member"})
    with OidcProvider() as stranger:  # a provider the server does not know
        wrong_issuer = _sign_in(app_client, _person(stranger, email))
    assert wrong_issuer.status_code == 401
    assert "is not an identity provider of this server" in wrong_issuer.json()["detail"]
    forged = _sign_in(app_client, idp.mint({"sub": "x", "email": email}, issuer="https://evil"))
    assert forged.status_code == 401
    wrong_audience = _sign_in(
        app_client, idp.mint({"sub": "s", "email": email, "email_verified": True}, audience="x")
    )
    assert wrong_audience.status_code == 401 and "audience" in wrong_audience.json()["detail"]
    unverified = _sign_in(app_client, _person(idp, email, email_verified=False))
    assert unverified.status_code == 403 and "email_verified" in unverified.json()["detail"]
    other = f"p{secrets.token_hex(4)}@elsewhere.org"
    app_client.post("/org/invitations", {"email": other, "role": "member"})
    domain = _sign_in(app_client, _person(idp, other))
    assert domain.status_code == 403 and "not in a domain allowed" in domain.json()["detail"]
    expired = _sign_in(app_client, idp.mint({"sub": "s"}, audience=CLIENT, expires_in=-120))
    assert expired.status_code == 401
    assert app_client.get("/org/invitations").json()[0]["email"] in (email, other)


def test_one_person_in_two_organisations_picks_one_and_signs_out(
    app_client: Env, idp: OidcProvider
) -> None:
    email = _email()
    other = app_client.new_org()
    app_client.post("/org/invitations", {"email": email, "role": "admin"})
    other.post("/org/invitations", {"email": email, "role": "viewer"})
    session = _sign_in(app_client, _person(idp, email)).json()["token"]
    info = app_client.client.get("/api/v1/auth/session", headers=_as(app_client, session)).json()
    assert {o["name"]: o["role"] for o in info["orgs"]} == {
        app_client.org["name"]: "admin", other.org["name"]: "viewer",
    }  # fmt: skip
    ambiguous = app_client.client.get("/api/v1/whoami", headers=_as(app_client, session))
    assert ambiguous.status_code == 400 and "several organisations" in ambiguous.json()["detail"]
    for env, role in ((app_client, "admin"), (other, "viewer")):
        me = env.client.get("/api/v1/whoami", headers=_as(env, session, env.org["name"]))
        assert me.json()["token"]["role"] == role
    outsider = app_client.client.get("/api/v1/whoami", headers=_as(app_client, session, "nope"))
    assert outsider.status_code == 403
    api_token = app_client.client.get("/api/v1/auth/session", headers=app_client.headers())
    assert api_token.status_code == 401  # a session route: API tokens do not open it

    out = app_client.client.delete("/api/v1/auth/session", headers=_as(app_client, session))
    assert out.status_code == 204
    after = app_client.client.get("/api/v1/whoami", headers=_as(app_client, session, "x"))
    assert after.status_code == 401 and "signed out" in after.json()["detail"]


def test_role_changes_follow_the_rank_and_the_last_owner_stays(
    app_client: Env, idp: OidcProvider
) -> None:
    admin_email, member_email = _email(), _email()
    app_client.post("/org/invitations", {"email": admin_email, "role": "admin"})
    app_client.post("/org/invitations", {"email": member_email, "role": "member"})
    admin = _sign_in(app_client, _person(idp, admin_email)).json()["token"]
    _sign_in(app_client, _person(idp, member_email))
    org = app_client.org["name"]
    members = {m["email"] or m["name"]: m for m in app_client.get("/org/members").json()}
    owner_id = next(m["user_id"] for m in members.values() if m["role"] == "owner")

    def patch(member: str, role: str, token: str | None = None) -> Any:
        headers = _as(app_client, token, org) if token else app_client.headers()
        return app_client.client.patch(
            f"/api/v1/org/members/{member}", json={"role": role}, headers=headers
        )

    assert patch(owner_id, "admin").status_code == 409  # the last owner
    assert "last owner" in patch(owner_id, "viewer").json()["detail"]
    gone = app_client.client.delete(f"/api/v1/org/members/{owner_id}", headers=app_client.headers())
    assert gone.status_code == 409
    assert patch(member_email, "owner", admin).status_code == 403  # above the admin's own role
    assert patch(owner_id, "viewer", admin).status_code == 403  # acting on an owner
    assert patch(member_email, "viewer", admin).json()["role"] == "viewer"
    invite = app_client.client.post(
        "/api/v1/org/invitations",
        json={"email": _email(), "role": "owner"},
        headers=_as(app_client, admin, org),
    )
    assert invite.status_code == 403

    assert patch(admin_email, "owner").json()["role"] == "owner"  # two owners now
    assert patch(owner_id, "member").json()["role"] == "member"  # so the first may step down
    first_owner = app_client.get("/whoami").json()["token"]
    assert first_owner["role"] == "member"  # its token follows its person's role
    removed = app_client.client.delete(
        f"/api/v1/org/members/{member_email}", headers=_as(app_client, admin, org)
    )
    assert removed.status_code == 204
    events = app_client.client.get(
        "/api/v1/audit", params={"limit": 100}, headers=_as(app_client, admin, org)
    ).json()["items"]
    by_action = {e["action"]: e for e in events}
    assert by_action["member.remove"]["actor"] == admin_email
    assert by_action["member.update"]["data"]["role"] in ("viewer", "owner", "member")


def test_invitations_are_revoked_and_removed_members_lose_their_tokens(
    app_client: Env, idp: OidcProvider
) -> None:
    email = _email()
    row = app_client.post("/org/invitations", {"email": email, "role": "member"}).json()
    assert app_client.delete(f"/org/invitations/{row['id']}").status_code == 204
    assert app_client.delete(f"/org/invitations/{row['id']}").status_code == 404
    assert _sign_in(app_client, _person(idp, email)).status_code == 403  # revoked: not a member
    assert (
        app_client.post("/org/invitations", {"email": "not-an-email", "role": "member"}).status_code
        == 400
    )


def test_a_person_makes_expiring_tokens_of_their_own_role_and_revokes_them(
    app_client: Env, idp: OidcProvider
) -> None:
    email = _email()
    app_client.post("/org/invitations", {"email": email, "role": "member"})
    session = _sign_in(app_client, _person(idp, email)).json()["token"]
    org = app_client.org["name"]

    def mint(body: dict[str, Any]) -> Any:
        return app_client.client.post(
            "/api/v1/tokens/personal", json=body, headers=_as(app_client, session, org)
        )

    made = mint({"name": "laptop", "expires_in_seconds": 3600})
    assert made.status_code == 201, made.text
    assert (made.json()["kind"], made.json()["role"]) == ("user", "member")
    assert made.json()["expires_at"] is not None
    assert mint({"name": "more", "role": "admin"}).status_code == 403  # above their own role
    assert mint({"name": "long", "expires_in_seconds": 400 * 86400}).status_code == 422
    viewer = mint({"name": "ro", "role": "viewer"}).json()["token"]
    assert app_client.get("/whoami", token=viewer).json()["token"]["role"] == "viewer"
    assert app_client.post("/projects", {"name": "x"}, token=viewer).status_code == 403

    mine = app_client.client.get("/api/v1/tokens/personal", headers=_as(app_client, session, org))
    assert sorted(t["name"] for t in mine.json()) == ["laptop", "ro"]
    member = made.json()["token"]
    assert app_client.get("/whoami", token=member).json()["user"]["email"] == email
    robot = app_client.robot()
    assert app_client.post("/tokens/personal", {"name": "r"}, token=robot).status_code == 403
    assert app_client.delete(f"/tokens/{made.json()['id']}", token=viewer).status_code == 204
    assert app_client.get("/whoami", token=member).status_code == 401  # revoked by its person
    listed = {t["name"]: t for t in app_client.get("/tokens").json()["items"]}
    assert listed["ro"]["last_used_at"] is not None  # used above

    members = {m["email"]: m["user_id"] for m in app_client.get("/org/members").json()}
    assert app_client.delete(f"/org/members/{members[email]}").status_code == 204
    assert app_client.get("/whoami", token=viewer).status_code == 401  # removed: tokens revoked


def test_the_server_host_recovers_owner_access_without_a_token(app_client: Env) -> None:
    from chainproof.server.recovery import create_recovery_token

    made = create_recovery_token(app_client.settings, app_client.org["name"])
    me = app_client.get("/whoami", token=made["token"]).json()
    assert (me["org"]["name"], me["token"]["role"]) == (app_client.org["name"], "owner")
    members = {m["name"]: m["role"] for m in app_client.get("/org/members").json()}
    assert members[made["name"]] == "owner"
    actions = [e["action"] for e in app_client.get("/audit").json()["items"]]
    assert "token.recover" in actions
    with pytest.raises(NotFound):
        create_recovery_token(app_client.settings, "no-such-org")
