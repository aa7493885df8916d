"""``/api/v1/org``: the caller's organisation and its settings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import orgs

router = APIRouter(route_class=StrictJsonRoute, prefix="/org", tags=["organisation"])


class OrgOut(BaseModel):
    id: str
    name: str
    allow_implicit_creation: bool
    policy_strategy: str
    required_policies: dict[str, Any] | None = None
    contract_grace_seconds: int | None = None
    default_contract: str | None = None
    refuse_released_versions: bool = False
    revoke_unused_tokens_seconds: int | None = None
    policy_allowed_hostnames: list[str] = []
    created_at: str


class OrgPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allow_implicit_creation: bool | None = None
    policy_strategy: Literal["advisory", "enforced"] | None = None
    #: ``{"policies": {"materials": [...], "attestation": [...]}, "policyGroups": [...]}``;
    #: null clears them.
    required_policies: dict[str, Any] | None = None
    #: Seconds a new contract revision waits before runs on older ones are refused; 0 disables.
    contract_grace_seconds: int | None = Field(None, ge=0)
    #: The contract implicitly created workflows get instead of an empty one; null clears it.
    default_contract: str | None = Field(default=None, max_length=200)
    #: Refuse init and push on released project versions.
    refuse_released_versions: bool | None = None
    #: Revoke API tokens (but owners') unused for this many seconds (at least a day); 0 keeps them.
    revoke_unused_tokens_seconds: int | None = Field(None, ge=0)
    #: Hosts policies' http.send may reach (bare host names); [] allows none.
    policy_allowed_hostnames: list[Annotated[str, Field(max_length=253)]] | None = Field(
        None, max_length=100
    )


@router.get("", response_model=OrgOut)
def describe_org(session: SessionDep, principal: PrincipalDep) -> Any:
    """The organisation the token belongs to."""
    return orgs.settings_view(orgs.describe(session, principal))


@router.patch("", response_model=OrgOut)
def update_org(body: OrgPatch, session: SessionDep, principal: PrincipalDep) -> Any:
    """Change settings (owner/admin): ``allow_implicit_creation`` lets ``attestation init``
    create unknown projects and workflows; ``policy_strategy`` decides whether violations
    of policies without a ``gate`` block pushes; ``required_policies`` apply to every run;
    ``contract_grace_seconds`` gives each new contract revision a grace period;
    ``default_contract`` is attached to implicitly created workflows;
    ``refuse_released_versions`` refuses runs on released project versions;
    ``revoke_unused_tokens_seconds`` revokes tokens left unused that long;
    ``policy_allowed_hostnames`` are the hosts policies' ``http.send`` may reach."""
    extra: dict[str, Any] = {}
    if "required_policies" in body.model_fields_set:
        extra["required_policies"] = body.required_policies
    if "default_contract" in body.model_fields_set:
        extra["default_contract"] = body.default_contract
    org = orgs.update(
        session,
        principal,
        allow_implicit_creation=body.allow_implicit_creation,
        policy_strategy=body.policy_strategy,
        contract_grace_seconds=body.contract_grace_seconds,
        refuse_released_versions=body.refuse_released_versions,
        revoke_unused_tokens_seconds=body.revoke_unused_tokens_seconds,
        policy_allowed_hostnames=body.policy_allowed_hostnames,
        **extra,
    )
    return orgs.settings_view(org)
