"""Integrations of an organisation: register, attach, describe, list deliveries, redeliver.

Owner/admin only. A kind's configuration is validated by its pydantic model; the secret
(``--secret-stdin``) is sealed under the server's key bound to the integration's id
(support/sealed.py) and no answer ever carries it, only whether one is set
(docs/integrations.md).
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from chainproof.errors import Conflict, InvalidInput, NotFound
from chainproof.integrations import EVENT_TYPES, Kind, load_kinds
from chainproof.server.db import (
    Delivery,
    DeliveryAttempt,
    EventRow,
    Integration,
    IntegrationAttachment,
    Project,
    Workflow,
)
from chainproof.server.db.base import new_id, utcnow
from chainproof.server.services import audit, orgs, projects, workflows
from chainproof.server.services.cas_endpoints import Endpoint, EndpointPolicy
from chainproof.server.support import sealed
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

_PURPOSE = b"chainproof integration secret v1"
_MAX_SECRET = 4096
#: ``session.info`` key of the server's :class:`EndpointPolicy` for integrations (app.py).
HOSTS_KEY = "chainproof.integration_allowed_hosts"
HOSTS_SETTING = "CHAINPROOF_INTEGRATION_ALLOWED_HOSTS"


def host_policy(session: Session) -> EndpointPolicy:
    """The operator's ``integration_allowed_hosts`` (unset: all but metadata addresses)."""
    found = session.info.get(HOSTS_KEY)
    return found if isinstance(found, EndpointPolicy) else EndpointPolicy(setting=HOSTS_SETTING)


@cache
def kinds() -> dict[str, Kind]:
    """The installed kinds (entry points), loaded once per process."""
    return load_kinds()


def kind(name: str) -> Kind:
    found = kinds().get(name)
    if found is None:
        raise InvalidInput(
            f"unknown integration kind {name!r}",
            hint=f"`chainproof integration available` lists them: {', '.join(kinds())}",
        )
    return found


def available() -> list[dict[str, Any]]:
    """Every kind with the JSON schema of its configuration."""
    return [
        {
            "kind": k.name,
            "description": k.description,
            "stdin_help": k.stdin_help,
            # The events the kind acts on (None: all); attachments default to them.
            "event_types": list(getattr(k, "event_types", None) or []) or None,
            "config_schema": k.config.model_json_schema(),
        }
        for k in kinds().values()
    ]


def parse_config(kind_: Kind, values: dict[str, Any]) -> BaseModel:
    """The kind's config model from ``values`` (strings from the CLI are coerced)."""
    try:
        return kind_.config.model_validate(values)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        raise InvalidInput(
            f"invalid {kind_.name} config: {where}: {first['msg']}",
            hint=f"`chainproof integration available` shows the {kind_.name} schema",
        ) from None


def create(
    session: Session,
    actor: Principal,
    *,
    kind_name: str,
    name: str,
    config: dict[str, Any],
    secret: str | None = None,
) -> Integration:
    """Register an integration (owner/admin); Conflict when the name is taken."""
    actor.require_admin()
    orgs.check_name("integration", name)
    kind_ = kind(kind_name)
    parsed = parse_config(kind_, config)
    if secret is not None and (not secret or len(secret) > _MAX_SECRET):
        raise InvalidInput(f"the secret needs 1 to {_MAX_SECRET} characters")
    check_endpoints(kind_, parsed, secret, host_policy(session))
    if _find(session, actor.org_id, name) is not None:
        raise Conflict(f"integration {name!r} already exists", hint="remove it first")
    row = Integration(
        id=new_id(),
        org_id=actor.org_id,
        name=name,
        kind=kind_.name,
        config=parsed.model_dump(mode="json"),
    )
    if secret:
        row.secret = sealed.seal(sealed.server_secret(session), _PURPOSE, secret.encode(), row.id)
    session.add(row)
    session.flush()
    audit.record(session, actor.org_id, actor, "integration.create", row.id, kind=row.kind)
    return row


def check_endpoints(
    kind_: Kind, config: BaseModel, secret: str | None, policy: EndpointPolicy
) -> None:
    """Forbidden when the kind would connect where ``policy`` (the operator's
    ``integration_allowed_hosts``) does not allow, and always to a cloud metadata address
    (SSRF: the address that hands out the host's credentials; services/cas_endpoints.py);
    InvalidInput for a URL without a host. Without a list, other addresses, loopback and
    private networks included, are allowed: receivers often run beside the server."""
    listed = getattr(kind_, "endpoints", None)
    for url in listed(config, secret) if callable(listed) else []:
        parts = urlsplit(str(url))
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname:
            raise InvalidInput(f"the {kind_.name} integration's URL names no host")
        default = 80 if parts.scheme == "http" else 443
        policy.check_endpoint(Endpoint(parts.hostname, port or default), kind_.name)


def secret_of(session: Session, row: Integration) -> str | None:
    """The integration's secret in clear (delivery only: never in an answer)."""
    if row.secret is None:
        return None
    key = sealed.server_secret(session)
    plain = sealed.unseal(key, _PURPOSE, row.secret, row.id, f"secret of integration {row.name}")
    return plain.decode()


def _find(session: Session, org_id: str, name: str) -> Integration | None:
    stmt = select(Integration).where(Integration.org_id == org_id, Integration.name == name)
    return session.scalar(stmt)


def get(session: Session, actor: Principal, name: str) -> Integration:
    actor.require_admin()
    row = _find(session, actor.org_id, name)
    if row is None:
        raise NotFound(
            f"integration {name!r} not found", hint="`chainproof integration list` names them"
        )
    return row


def list_all(session: Session, actor: Principal) -> list[Integration]:
    actor.require_admin()
    stmt = select(Integration).where(Integration.org_id == actor.org_id)
    return list(session.scalars(stmt.order_by(Integration.name)))


def remove(session: Session, actor: Principal, name: str) -> None:
    """Delete an integration with its attachments and deliveries."""
    row = get(session, actor, name)
    audit.record(session, actor.org_id, actor, "integration.remove", row.id, name=name)
    session.delete(row)


def _target(
    session: Session, actor: Principal, project: str, workflow: str | None
) -> tuple[Project, Workflow | None]:
    project_row = projects.get(session, actor.org_id, project)
    wf = workflows.get(session, actor, project, workflow) if workflow else None
    return project_row, wf


def attach(
    session: Session,
    actor: Principal,
    name: str,
    *,
    project: str,
    workflow: str | None = None,
    events: list[str] | None = None,
    material_kinds: list[str] | None = None,
) -> IntegrationAttachment:
    """Attach to a project (all its workflows) or one workflow; replaces the filters of an
    attachment to the same place."""
    row = get(session, actor, name)
    unknown = sorted(set(events or []) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInput(
            f"unknown event type(s): {', '.join(unknown)}", hint=f"use {', '.join(EVENT_TYPES)}"
        )
    handled = getattr(kinds().get(row.kind), "event_types", None)
    if handled:  # a kind that acts only on some events (Dependency-Track, OCI export)
        others = sorted(set(events or []) - set(handled))
        if others:
            raise InvalidInput(
                f"a {row.kind} integration does not act on {', '.join(others)}",
                hint=f"attach it for {', '.join(handled)} (the default)",
            )
        events = events or list(handled)
    project_row, wf = _target(session, actor, project, workflow)
    attachment = _attachment(session, row, project_row, wf) or IntegrationAttachment(
        integration_id=row.id, project_id=project_row.id, workflow_id=wf.id if wf else None
    )
    attachment.events = sorted(set(events or []))
    attachment.material_kinds = sorted({k.upper() for k in material_kinds or []})
    session.add(attachment)
    session.flush()
    audit.record(session, actor.org_id, actor, "integration.attach", row.id, project=project)
    return attachment


def _attachment(
    session: Session, row: Integration, project: Project, wf: Workflow | None
) -> IntegrationAttachment | None:
    column = IntegrationAttachment.workflow_id
    stmt = select(IntegrationAttachment).where(
        IntegrationAttachment.integration_id == row.id,
        IntegrationAttachment.project_id == project.id,
        column == wf.id if wf else column.is_(None),
    )
    return session.scalar(stmt)


def detach(
    session: Session, actor: Principal, name: str, *, project: str, workflow: str | None = None
) -> None:
    """Remove the attachment to that project or workflow; NotFound when there is none."""
    row = get(session, actor, name)
    project_row, wf = _target(session, actor, project, workflow)
    attachment = _attachment(session, row, project_row, wf)
    if attachment is None:
        where = f"{project}/{workflow}" if workflow else project
        raise NotFound(f"integration {name!r} is not attached to {where}")
    session.delete(attachment)
    audit.record(session, actor.org_id, actor, "integration.detach", row.id, project=project)


def view(session: Session, row: Integration) -> dict[str, Any]:
    """The integration as answered: its config and attachments, never its secret."""
    stmt = (
        select(IntegrationAttachment, Project.name, Workflow.name)
        .join(Project, Project.id == IntegrationAttachment.project_id)
        .outerjoin(Workflow, Workflow.id == IntegrationAttachment.workflow_id)
        .where(IntegrationAttachment.integration_id == row.id)
        .order_by(Project.name, Workflow.name)
    )
    attachments = [
        {
            "project": project,
            "workflow": workflow,
            "events": a.events,
            "material_kinds": a.material_kinds,
        }
        for a, project, workflow in session.execute(stmt)
    ]
    return {
        "id": row.id,
        "name": row.name,
        "kind": row.kind,
        "config": row.config,
        "has_secret": row.secret is not None,
        "created_at": rfc3339(row.created_at),
        "attachments": attachments,
    }


def deliveries(
    session: Session, actor: Principal, name: str, limit: int = 50
) -> list[dict[str, Any]]:
    """The integration's deliveries, newest first, each with its attempts."""
    row = get(session, actor, name)
    stmt = (
        select(Delivery, EventRow)
        .join(EventRow, EventRow.id == Delivery.event_id)
        .where(Delivery.integration_id == row.id)
        .order_by(Delivery.created_at.desc(), Delivery.id)
        .limit(limit)
    )
    return _views(session, [(d, e) for d, e in session.execute(stmt)])


def delivery_view(session: Session, row: Delivery) -> dict[str, Any]:
    event = session.get(EventRow, row.event_id)
    assert event is not None
    return _views(session, [(row, event)])[0]


def _views(session: Session, found: list[tuple[Delivery, EventRow]]) -> list[dict[str, Any]]:
    ids = [d.id for d, _ in found]
    attempts: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    query = select(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(ids))
    for a in session.scalars(query.order_by(DeliveryAttempt.started_at)):
        attempts[a.delivery_id].append(
            {
                "started_at": rfc3339(a.started_at),
                "finished_at": rfc3339(a.finished_at),
                "outcome": a.outcome,
                "status_code": a.status_code,
                "error": a.error,
            }
        )
    return [_delivery_view(d, e, attempts[d.id]) for d, e in found]


def _delivery_view(d: Delivery, e: EventRow, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": d.id,
        "event_id": e.id,
        "event_type": e.type,
        "subject": e.subject,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": rfc3339(d.next_attempt_at) if d.status == "pending" else None,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "delivered_at": rfc3339(d.delivered_at),
        "created_at": rfc3339(d.created_at),
        "history": attempts,
    }


def redeliver(session: Session, actor: Principal, delivery_id: str) -> Delivery:
    """Send a delivery again (any state): due now, with a fresh attempt budget."""
    actor.require_admin()
    row = session.get(Delivery, delivery_id) if _is_id(delivery_id) else None
    if row is None or row.org_id != actor.org_id:
        raise NotFound(f"delivery {delivery_id} not found", hint="see `integration deliveries`")
    row.status = "pending"
    row.attempts = 0
    row.next_attempt_at = utcnow()
    row.lease_token = None
    row.lease_until = None
    audit.record(session, actor.org_id, actor, "integration.redeliver", row.id)
    return row


def _is_id(value: str) -> bool:
    return len(value) == 36 and value.count("-") == 4
