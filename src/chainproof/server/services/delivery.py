"""Delivery of the outbox (events.py): claim due deliveries under a lease, send one attempt,
record it, and schedule the retry (docs/integrations.md, "Delivery").

A worker claims rows with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite ignores it and runs
a single worker), marks them ``delivering`` with a random lease token valid until
``lease_until``, commits, and sends outside any transaction. A claim whose lease ran out (its
worker died) is due again; the late worker's result is recorded as an attempt but no longer
moves the delivery (its token was replaced). Receivers deduplicate on the event id
(idempotency key): a reclaimed delivery may reach them twice, never zero times.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from chainproof.integrations import Event, Outcome
from chainproof.server.db import Delivery, DeliveryAttempt, EventRow, Integration, Organization
from chainproof.server.db.base import new_id, utcnow
from chainproof.server.services import integrations
from chainproof.server.services.cas_endpoints import EndpointPolicy
from chainproof.server.services.slsa import SERVER_URL_KEY

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Timeouts, attempts, backoff and lease (the ``delivery_*`` settings)."""

    timeout: float = 10.0
    max_attempts: int = 8
    backoff: float = 5.0
    backoff_max: float = 3600.0
    lease: float = 120.0

    def delay(self, attempts: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds before the next attempt after ``attempts`` failed ones: exponential, capped,
        with jitter (50-100% of it) so that receivers coming back are not stampeded."""
        base = min(self.backoff_max, self.backoff * 2.0 ** max(0, attempts - 1))
        return base * (0.5 + rand() / 2)


@dataclass(frozen=True)
class Claimed:
    """A delivery a worker holds, with everything needed to send it."""

    delivery_id: str
    token: str
    kind: str
    config: dict[str, Any]
    secret: str | None
    event: Event
    org_id: str
    hosts: EndpointPolicy


def claim(
    session: Session, policy: RetryPolicy, now: datetime | None = None, limit: int = 50
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries (pending and due, or leased and expired)."""
    now = now or utcnow()
    due = or_(
        and_(Delivery.status == "pending", Delivery.next_attempt_at <= now),
        and_(Delivery.status == "delivering", Delivery.lease_until < now),
    )
    stmt = (
        select(Delivery)
        .where(due)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.scalars(stmt))
    claimed = []
    for row in rows:
        row.status = "delivering"
        row.lease_token = new_id()
        row.lease_until = now + timedelta(seconds=policy.lease)
        claimed.append(_claimed(session, row))
    return claimed


def _claimed(session: Session, row: Delivery) -> Claimed:
    integration = session.get(Integration, row.integration_id)
    event = session.get(EventRow, row.event_id)
    org = session.get(Organization, row.org_id)
    assert integration is not None and event is not None and org is not None
    assert row.lease_token is not None
    return Claimed(
        delivery_id=row.id,
        token=row.lease_token,
        kind=integration.kind,
        config=dict(integration.config),
        secret=integrations.secret_of(session, integration),
        event=Event(
            id=event.id,
            type=event.type,
            time=event.created_at,
            org=org.name,
            subject=event.subject,
            data=_linked(session, event.data),
        ),
        org_id=row.org_id,
        hosts=integrations.host_policy(session),
    )


def _linked(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    """The event's data with links under the server's public URL: ``url``, the API path
    recorded with the event; ``run_url`` and ``workflow_url``, the run and the workflow in
    the dashboard (``/runs/<id>``, ``/workflows/<id>``) when the event names them."""
    out = dict(data)
    base = str(session.info.get(SERVER_URL_KEY) or "").rstrip("/")
    path = out.pop("path", None)
    if path:
        out["url"] = base + str(path)
    if out.get("run_id"):
        out["run_url"] = f"{base}/runs/{out['run_id']}"
    if out.get("workflow_id"):
        out["workflow_url"] = f"{base}/workflows/{out['workflow_id']}"
    return out


def send(claimed: Claimed, timeout: float) -> Outcome:
    """One attempt through the kind's ``deliver``; any exception is a failed attempt."""
    try:
        kind = integrations.kind(claimed.kind)
        config = kind.config.model_validate(claimed.config)
        # Names may resolve elsewhere now, and the operator's list may have changed.
        integrations.check_endpoints(kind, config, claimed.secret, claimed.hosts)
        return kind.deliver(config, claimed.secret, claimed.event, timeout)
    except Exception as err:  # a receiver's or a third-party kind's failure: retried
        return Outcome(False, None, f"{type(err).__name__}: {err}"[:1000])


def finish(
    session: Session,
    claimed: Claimed,
    outcome: Outcome,
    started: datetime,
    policy: RetryPolicy,
    finished: datetime | None = None,
) -> bool:
    """Record the attempt; move the delivery on (delivered, retry later, or failed) unless its
    lease was taken over meanwhile. Whether it moved."""
    finished = finished or utcnow()
    stmt = select(Delivery).where(Delivery.id == claimed.delivery_id).with_for_update()
    row = session.scalar(stmt)
    if row is None:  # its integration was removed meanwhile
        return False
    session.add(
        DeliveryAttempt(
            delivery_id=claimed.delivery_id,
            started_at=started,
            finished_at=finished,
            outcome="delivered" if outcome.ok else "error",
            status_code=outcome.status_code,
            error=outcome.error,
        )
    )
    if row.lease_token != claimed.token:
        log.info("delivery %s was reclaimed meanwhile: attempt recorded only", claimed.delivery_id)
        return False
    row.attempts += 1
    row.last_status_code = outcome.status_code
    row.last_error = outcome.error
    row.lease_token = None
    row.lease_until = None
    if outcome.ok:
        row.status = "delivered"
        row.delivered_at = finished
    elif row.attempts >= policy.max_attempts:
        row.status = "failed"
    else:
        row.status = "pending"
        row.next_attempt_at = finished + timedelta(seconds=policy.delay(row.attempts))
    return True
