"""``/api/v1/cas-backends``: the organisation's CAS backends (owner/admin only)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import cas_backends
from chainproof.server.services.cas_backends import BackendFactory

router = APIRouter(route_class=StrictJsonRoute, prefix="/cas-backends", tags=["cas-backends"])

Provider = Literal["fs", "oci", "s3", "azure-blob", "inline"]
Fields = dict[str, str | None]


def _factory(request: Request) -> BackendFactory:
    factory: BackendFactory = request.app.state.cas_factory
    return factory


FactoryDep = Annotated[BackendFactory, Depends(_factory)]


class CasBackendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    provider: Provider
    config: Fields = Field(default_factory=dict)
    secret: Fields = Field(default_factory=dict)
    default: bool = False
    fallback: bool = False
    max_blob_size: int | None = Field(default=None, ge=1)
    skip_validation: bool = False


class CasBackendPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: Fields | None = None
    secret: Fields | None = None
    default: bool | None = None
    fallback: bool | None = None
    max_blob_size: int | None = Field(default=None, ge=1)
    skip_validation: bool = False


class CasBackendOut(BaseModel):
    id: str
    name: str
    provider: str
    config: dict[str, str]
    has_secret: bool
    default: bool
    fallback: bool
    max_blob_size: int
    status: str
    status_message: str | None
    validated_at: str | None
    created_at: str | None
    updated_at: str | None


class CasBackendPage(BaseModel):
    items: list[CasBackendOut]
    next_cursor: str | None = None


@router.post("", status_code=201, response_model=CasBackendOut)
def create_backend(
    body: CasBackendIn, session: SessionDep, principal: PrincipalDep, factory: FactoryDep
) -> Any:
    """Add a backend; validated (probe blob) first unless ``skip_validation``."""
    row = cas_backends.create(
        session,
        principal,
        factory,
        name=body.name,
        provider=body.provider,
        config=body.config,
        secret=body.secret,
        default=body.default,
        fallback=body.fallback,
        max_blob_size=body.max_blob_size,
        validate=not body.skip_validation,
    )
    return cas_backends.view(row)


@router.get("", response_model=CasBackendPage)
def list_backends(session: SessionDep, principal: PrincipalDep) -> Any:
    """Every backend of the organisation (no credentials)."""
    rows = cas_backends.list_backends(session, principal)
    return {"items": [cas_backends.view(r) for r in rows], "next_cursor": None}


@router.get("/{name}", response_model=CasBackendOut)
def get_backend(name: str, session: SessionDep, principal: PrincipalDep) -> Any:
    """One backend by name."""
    return cas_backends.view(cas_backends.get(session, principal, name))


@router.patch("/{name}", response_model=CasBackendOut)
def update_backend(
    name: str,
    body: CasBackendPatch,
    session: SessionDep,
    principal: PrincipalDep,
    factory: FactoryDep,
) -> Any:
    """Change settings, rotate credentials, or move the default/fallback role."""
    row = cas_backends.update_backend(
        session,
        principal,
        factory,
        name,
        config=body.config,
        secret=body.secret,
        default=body.default,
        fallback=body.fallback,
        max_blob_size=body.max_blob_size,
        validate=not body.skip_validation,
    )
    return cas_backends.view(row)


@router.delete("/{name}", status_code=204)
def delete_backend(name: str, session: SessionDep, principal: PrincipalDep) -> Response:
    """Remove a backend that holds no blobs."""
    cas_backends.delete(session, principal, name)
    return Response(status_code=204)


@router.post("/{name}/validate", response_model=CasBackendOut)
def validate_backend(
    name: str, session: SessionDep, principal: PrincipalDep, factory: FactoryDep
) -> Any:
    """Write, read back and delete a probe blob now; the backend with its new status."""
    return cas_backends.view(cas_backends.validate(session, principal, factory, name))
