"""``chainproof server admin create-token``: regain access to an organisation from the
server host, when its owner token is lost and nobody can sign in (docs/identity.md).

Whoever can read the data dir (its database URL and secret key) already holds everything the
server holds, so a command run there may mint an owner token without any other credential.
The token belongs to a new owner member named ``<org>-recovery-<n>``, which an owner removes
(`org member remove`) once access is restored; the audit trail records it.
"""

from __future__ import annotations

import secrets
from typing import Any

from chainproof.errors import NotFound
from chainproof.server.bootstrap import require_database
from chainproof.server.db.session import database_errors, make_engine, make_sessionmaker
from chainproof.server.services import audit, orgs, tokens
from chainproof.server.settings import Settings

__all__ = ["create_recovery_token"]


def create_recovery_token(settings: Settings, org: str) -> dict[str, Any]:
    """An owner token of ``org`` for a new recovery member; NotFound for an unknown org."""
    url = settings.database_url
    with database_errors(url):
        require_database(url)
        engine = make_engine(url)
        try:
            maker = make_sessionmaker(engine, secret_key=settings.secret_key.get_secret_value())
            with maker.begin() as session:
                row = orgs.find_org(session, org)
                if row is None:
                    raise NotFound(
                        f"organisation {org!r} not found in this server's database",
                        hint="check --org, and --data-dir / --database-url",
                    )
                name = f"{org}-recovery-{secrets.token_hex(3)}"
                user = orgs.add_member(session, row, name, "owner")
                token, secret = tokens.create_user_token(session, row, user, "owner", name)
                audit.record(session, row.id, None, "token.recover", token.id, member=name)
                return {"org": orgs.org_view(row), "name": name, "token": secret}
        finally:
            engine.dispose()
