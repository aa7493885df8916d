"""Run the Alembic migrations shipped inside the package, and say where a database stands.

``server start`` upgrades the database itself unless ``auto_migrate`` is off; then an operator
runs ``chainproof server migrate upgrade`` once and every process checks :func:`require_head`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from chainproof.errors import NotReady
from chainproof.server.db.session import make_engine, normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"

UPGRADE_HINT = (
    "run `chainproof server migrate upgrade --data-dir DIR` once (after a backup), or turn "
    "auto_migrate on (CHAINPROOF_AUTO_MIGRATE=true)"
)


def alembic_config(database_url: str) -> Config:
    """An Alembic Config pointing at the packaged scripts and ``database_url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return cfg


def migrate(database_url: str, revision: str = "head") -> None:
    """``alembic upgrade head`` on ``database_url``."""
    command.upgrade(alembic_config(database_url), revision)


def _scripts() -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg)


def head_revision() -> str:
    """The newest revision this release ships."""
    head = _scripts().get_current_head()
    assert head is not None  # the package ships at least one revision
    return head


def current_revision(database_url: str) -> str | None:
    """The revision ``database_url`` is at (None: no chainproof schema)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Status:
    """Where a database stands against this release's migrations."""

    current: str | None
    head: str
    pending: tuple[str, ...]
    known: bool

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    def view(self) -> dict[str, Any]:
        return {
            "current": self.current,
            "head": self.head,
            "at_head": self.at_head,
            "pending": list(self.pending),
            "known": self.known,
        }


def status(database_url: str) -> Status:
    """The database's revision, this release's head and the revisions an upgrade would run
    (oldest first); ``known`` is false for a revision this release does not ship (a database a
    newer release upgraded)."""
    scripts = _scripts()
    current = current_revision(database_url)
    head = head_revision()
    shipped = {s.revision for s in scripts.walk_revisions()}
    known = current is None or current in shipped
    pending: list[str] = []
    if known:
        pending = [s.revision for s in scripts.iterate_revisions(head, current)]
        pending.reverse()
    return Status(current=current, head=head, pending=tuple(pending), known=known)


def history() -> list[dict[str, Any]]:
    """Every shipped revision, oldest first: id, the one it follows, and its message."""
    out = [
        {"revision": s.revision, "down_revision": s.down_revision, "message": s.doc}
        for s in _scripts().walk_revisions()
    ]
    out.reverse()
    return out


def require_known(database_url: str, shown: str) -> Status:
    """The database's status; NotReady if a newer release upgraded it past what this one
    ships (``shown``: its URL without password, for the message)."""
    found = status(database_url)
    if not found.known:
        raise NotReady(
            f"the database {shown} is at revision {found.current}, which this release of "
            f"chainproof does not know (it ships up to {found.head})",
            hint="a newer chainproof upgraded it: run that release, or restore the backup taken "
            "before the upgrade",
        )
    return found


def require_head(database_url: str, shown: str, *, hint: str = UPGRADE_HINT) -> Status:
    """The database's status; NotReady unless it is at this release's head."""
    found = require_known(database_url, shown)
    if not found.at_head:
        raise NotReady(
            f"the database {shown} is at revision {found.current}, behind this release's "
            f"{found.head} ({len(found.pending)} migration(s) pending) and auto_migrate is off",
            hint=hint,
        )
    return found
