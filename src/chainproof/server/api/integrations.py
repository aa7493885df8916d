"""``/api/v1/integrations``: where events go, and their deliveries (docs/integrations.md).

Owner/admin, except the list of kinds. No answer carries an integration's secret: only
``has_secret``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import integrations

router = APIRouter(route_class=StrictJsonRoute, tags=["integrations"])

_Name = Field(min_length=1, max_length=100)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IntegrationIn(_In):
    kind: str = Field(min_length=1, max_length=100)
    name: str = _Name
    config: dict[str, Any] = Field(default_factory=dict)
    secret: str | None = Field(default=None, max_length=4096)


class AttachIn(_In):
    project: str = _Name
    workflow: str | None = Field(default=None, min_length=1, max_length=100)
    events: list[str] = Field(default_factory=list, max_length=20)
    material_kinds: list[str] = Field(default_factory=list, max_length=100)


class DetachIn(_In):
    project: str = _Name
    workflow: str | None = Field(default=None, min_length=1, max_length=100)


class Attachment(BaseModel):
    project: str
    workflow: str | None
    events: list[str]
    material_kinds: list[str]


class IntegrationOut(BaseModel):
    id: str
    name: str
    kind: str
    config: dict[str, Any]
    has_secret: bool
    created_at: str | None
    attachments: list[Attachment]


class KindOut(BaseModel):
    kind: str
    description: str
    stdin_help: str | None
    event_types: list[str] | None = None
    config_schema: dict[str, Any]


class Attempt(BaseModel):
    started_at: str | None
    finished_at: str | None
    outcome: str
    status_code: int | None
    error: str | None


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    event_type: str
    subject: str
    status: str
    attempts: int
    next_attempt_at: str | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: str | None
    created_at: str | None
    history: list[Attempt]


@router.get("/integration-kinds", response_model=list[KindOut])
def list_integration_kinds(principal: PrincipalDep) -> Any:
    """The installed integration kinds with the JSON schema of their configuration."""
    principal.require_reader()
    return integrations.available()


@router.post("/integrations", status_code=201, response_model=IntegrationOut)
def create_integration(body: IntegrationIn, session: SessionDep, principal: PrincipalDep) -> Any:
    """Register an integration; its secret is sealed and never answered (owner/admin)."""
    row = integrations.create(
        session,
        principal,
        kind_name=body.kind,
        name=body.name,
        config=body.config,
        secret=body.secret,
    )
    return integrations.view(session, row)


@router.get("/integrations", response_model=list[IntegrationOut])
def list_integrations(session: SessionDep, principal: PrincipalDep) -> Any:
    """The organisation's integrations (owner/admin)."""
    rows = integrations.list_all(session, principal)
    return [integrations.view(session, row) for row in rows]


@router.get("/integrations/{name}", response_model=IntegrationOut)
def describe_integration(name: str, session: SessionDep, principal: PrincipalDep) -> Any:
    """One integration with its attachments (owner/admin)."""
    return integrations.view(session, integrations.get(session, principal, name))


@router.delete("/integrations/{name}", status_code=204)
def remove_integration(name: str, session: SessionDep, principal: PrincipalDep) -> Response:
    """Remove an integration, its attachments and its deliveries (owner/admin)."""
    integrations.remove(session, principal, name)
    return Response(status_code=204)


@router.post("/integrations/{name}/attach", response_model=IntegrationOut)
def attach_integration(
    name: str, body: AttachIn, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Deliver the events of a project's (or one workflow's) runs and contracts, filtered by
    event type and material kind (empty: all) (owner/admin)."""
    integrations.attach(session, principal, name, **body.model_dump())
    return integrations.view(session, integrations.get(session, principal, name))


@router.post("/integrations/{name}/detach", response_model=IntegrationOut)
def detach_integration(
    name: str, body: DetachIn, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Stop delivering a project's (or workflow's) events to the integration (owner/admin)."""
    integrations.detach(session, principal, name, **body.model_dump())
    return integrations.view(session, integrations.get(session, principal, name))


@router.get("/integrations/{name}/deliveries", response_model=list[DeliveryOut])
def list_deliveries(
    name: str,
    session: SessionDep,
    principal: PrincipalDep,
    limit: int = Query(50, ge=1, le=500),
) -> Any:
    """The integration's deliveries, newest first, with every attempt (owner/admin)."""
    return integrations.deliveries(session, principal, name, limit)


@router.post("/deliveries/{delivery_id}/redeliver", response_model=DeliveryOut)
def redeliver(delivery_id: str, session: SessionDep, principal: PrincipalDep) -> Any:
    """Send a delivery again, whatever its state (owner/admin)."""
    row = integrations.redeliver(session, principal, delivery_id)
    session.flush()
    return integrations.delivery_view(session, row)
