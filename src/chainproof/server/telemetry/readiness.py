"""``/readyz``: may this process take traffic?

It checks, in order: the database answers ``SELECT 1``; the embedded filesystem CAS takes a
probe blob (written, read back, deleted); and no organisation's CAS backend is ``invalid``
by its last recorded validation. That last check reads what the revalidation job
(server/jobs/cas_validation.py, every ``cas_validation_seconds``) stored rather than
contacting every backend on every probe: probes come every few seconds from every replica,
and an unreachable backend would make each of them as slow as its timeout.

With ``readyz_cas_backends = "report"`` invalid backends are listed but do not make the
process unready: one organisation's broken bucket then cannot take the whole control plane
out of a load balancer's rotation (docs/operations.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from chainproof.cas.fs import FilesystemBackend

__all__ = ["BACKEND_MODES", "Readiness"]

log = logging.getLogger(__name__)

BACKEND_MODES = ("require", "report")
#: Invalid backends named in the answer at most (the count is always given).
LISTED = 20


@dataclass(frozen=True, kw_only=True)
class Readiness:
    """The checks of one process; :meth:`check` runs them (blocking: call it in a thread)."""

    engine: Engine
    embedded: FilesystemBackend | None
    #: The organisations' backends are checked when given (the control plane and ``cas serve``).
    sessions: sessionmaker[Session] | None = None
    backends_mode: str = "report"

    def check(self) -> tuple[bool, dict[str, Any]]:
        """``(ready, body)``; the body has ``status`` and one entry per check, and
        ``not_ready`` naming each check that failed."""
        checks: dict[str, Any] = {"database": self._database()}
        if self.embedded is not None:
            checks["cas"] = self._embedded(self.embedded)
        if self.sessions is not None and checks["database"]["status"] == "ok":
            checks["cas_backends"] = self._backends(self.sessions)
        failing = [name for name, found in checks.items() if found["status"] != "ok"]
        blocking = [
            name for name in failing if name != "cas_backends" or self.backends_mode == "require"
        ]
        body: dict[str, Any] = {"status": "unavailable" if blocking else "ok", "checks": checks}
        if failing:
            body["not_ready"] = failing
        return not blocking, body

    def _database(self) -> dict[str, Any]:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as err:
            # One line: a stack per probe every few seconds would drown the log.
            log.warning("readiness: the database does not answer (%s)", type(err).__name__)
            return {"status": "unavailable", "error": type(err).__name__}
        return {"status": "ok"}

    @staticmethod
    def _embedded(store: FilesystemBackend) -> dict[str, Any]:
        try:
            store.validate()
        except Exception as err:
            log.warning("readiness: the embedded CAS is not writable: %s", err)
            return {"status": "unavailable", "error": "the embedded CAS is not writable"}
        return {"status": "ok"}

    def _backends(self, sessions: sessionmaker[Session]) -> dict[str, Any]:
        from chainproof.server.db import CasBackend, Organization

        query = (
            select(Organization.name, CasBackend.name, CasBackend.provider, CasBackend.validated_at)
            .join(Organization, Organization.id == CasBackend.org_id)
            .where(CasBackend.status == "invalid", CasBackend.provider != "inline")
            .order_by(Organization.name, CasBackend.name)
        )
        try:
            with sessions() as session:
                rows = session.execute(query).all()
        except Exception as err:
            log.warning("readiness: cannot read CAS backend statuses (%s)", type(err).__name__)
            return {"status": "unavailable", "error": type(err).__name__}
        # No status message: /readyz is unauthenticated, and a message may name an endpoint.
        invalid = [
            {
                "org": org,
                "backend": name,
                "provider": provider,
                "validated_at": when.isoformat() if when else None,
            }
            for org, name, provider, when in rows[:LISTED]
        ]
        found: dict[str, Any] = {"status": "invalid" if rows else "ok", "invalid_count": len(rows)}
        if invalid:
            found["invalid"] = invalid
        return found
