"""Create a data dir and organisations (``server init``) and serve (``server start``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from chainproof.server.db.migrate import migrate
from chainproof.server.db.session import make_engine, make_sessionmaker
from chainproof.server.services import orgs, signing, tokens
from chainproof.server.settings import Settings, ensure_secret_key


def create_org(
    session: Session, name: str, *, allow_implicit_creation: bool = True
) -> tuple[dict[str, Any], str]:
    """An organisation with an owner user, membership, signing CA and owner token.

    Returns the org view and the owner token secret; Conflict if the org exists.
    """
    org = orgs.create_org(session, name, allow_implicit_creation=allow_implicit_creation)
    user = orgs.add_member(session, org, f"{name}-owner", "owner")
    signing.create_ca(session, org)
    _, secret = tokens.create_user_token(session, org, user, "owner", f"{name}-owner")
    return orgs.org_view(org), secret


def init_data_dir(
    data_dir: Path | str, org: str, database_url: str | None = None
) -> dict[str, Any]:
    """Create the data dir, secret key and database (migrated), then the org and its token."""
    root = Path(data_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    ensure_secret_key(root)
    settings = Settings.embedded(root, database_url=database_url)
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine, secret_key=settings.secret_key.get_secret_value())
    try:
        with sessions.begin() as session:
            org_view, secret = create_org(session, org)
    finally:
        engine.dispose()
    return {
        "org": org_view,
        "token": secret,
        "data_dir": str(root),
        "database_url": settings.database_url,
    }


def serve(settings: Settings) -> None:
    """Run the control plane with uvicorn until interrupted."""
    import uvicorn

    from chainproof.server.app import create_app

    migrate(settings.database_url)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
