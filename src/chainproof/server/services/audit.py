"""The audit trail: one event per write, by whom, on what."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from chainproof.server.db import AuditEvent
from chainproof.server.support.principal import Principal


def record(
    session: Session,
    org_id: str,
    actor: Principal | None,
    action: str,
    target: str | None = None,
    **data: Any,
) -> None:
    """Add an audit event to the current unit of work."""
    session.add(
        AuditEvent(
            org_id=org_id,
            actor_token_id=actor.token_id if actor else None,
            action=action,
            target=target,
            data=data,
        )
    )
