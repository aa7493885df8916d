"""Role order: nobody acts on a principal that outranks them (issue 15).

Owner > admin > member > viewer (docs/api.md, "Roles"). An admin could revoke the owner's
token and lock the owner out; now revoking a token of a higher role (the token's own, or its
user's current role) is 403. SQLite and PostgreSQL.
"""

from __future__ import annotations

import secrets

from sqlalchemy import update
from tests.integration.conftest import Env

from chainproof.server.db import Membership
from chainproof.server.services import orgs, tokens


def _user(env: Env, role: str) -> tuple[str, str, str]:
    """A new user of the organisation with ``role``: (user id, token id, token secret)."""
    with env.sessions.begin() as session:
        org = orgs.get_org(session, env.org["id"])
        user = orgs.add_member(session, org, f"{role}-{secrets.token_hex(3)}", role)
        row, secret = tokens.create_user_token(session, org, user, role, f"{role}-token")
        return user.id, row.id, secret


def _token_id(env: Env, secret: str) -> str:
    return str(env.get("/whoami", token=secret).json()["token"]["id"])


def test_admin_may_not_revoke_the_owners_token(app_client: Env) -> None:
    _, _, admin = _user(app_client, "admin")
    owner_token = _token_id(app_client, app_client.token)
    refused = app_client.delete(f"/tokens/{owner_token}", token=admin)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "forbidden"
    assert refused.json()["detail"] == (
        "the admin role may not revoke a token of the more privileged owner role"
    )
    assert app_client.get("/whoami").status_code == 200  # the owner is not locked out


def test_equal_or_lower_roles_may_be_revoked(app_client: Env) -> None:
    _, _, admin = _user(app_client, "admin")
    _, other_admin_id, other_admin = _user(app_client, "admin")
    _, member_id, member = _user(app_client, "member")
    robot = app_client.post("/tokens", {"name": "ci"}).json()
    assert app_client.delete(f"/tokens/{robot['id']}", token=admin).status_code == 204
    assert app_client.delete(f"/tokens/{member_id}", token=admin).status_code == 204
    assert app_client.delete(f"/tokens/{other_admin_id}", token=admin).status_code == 204
    assert app_client.get("/whoami", token=other_admin).status_code == 401
    assert app_client.get("/whoami", token=member).status_code == 401
    # the owner revokes an admin
    admin_id = _token_id(app_client, admin)
    assert app_client.delete(f"/tokens/{admin_id}").status_code == 204


def test_a_token_counts_its_users_current_role(app_client: Env) -> None:
    user_id, token_id, _ = _user(app_client, "admin")
    with app_client.sessions.begin() as session:
        session.execute(
            update(Membership).where(Membership.user_id == user_id).values(role="owner")
        )
    _, _, admin = _user(app_client, "admin")
    refused = app_client.delete(f"/tokens/{token_id}", token=admin)
    assert refused.status_code == 403 and "privileged owner role" in refused.json()["detail"]


def test_lower_roles_revoke_nothing(app_client: Env) -> None:
    _, admin_id, _ = _user(app_client, "admin")
    _, _, member = _user(app_client, "member")
    robot = app_client.post("/tokens", {"name": "ci"}).json()
    for token in (member, robot["token"]):
        assert app_client.delete(f"/tokens/{admin_id}", token=token).status_code == 403
