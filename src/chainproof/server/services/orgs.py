"""Organisations (tenants), their users and memberships."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from chainproof.core.contract import parse_required_policies
from chainproof.errors import Conflict, InvalidInput, NotFound
from chainproof.server.db import ContractRow, Membership, Organization, User
from chainproof.server.services import audit
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

#: What an ungated policy violation does: ``advisory`` records it, ``enforced`` blocks the
#: push (:mod:`.enforcement` applies it).
POLICY_STRATEGIES = ("advisory", "enforced")
DEFAULT_POLICY_STRATEGY = "advisory"
_ORG_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_name(kind: str, name: str) -> str:
    """Project, workflow and contract names: letters, digits, ``.``, ``_``, ``-`` (≤100)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid {kind} name {name!r}",
            hint="use letters, digits, dots, dashes and underscores (at most 100 characters)",
        )
    return name


def check_org_name(name: str) -> str:
    """Organisation names are DNS-1123 labels (lowercase letters, digits, dashes)."""
    if not _ORG_NAME.fullmatch(name or ""):
        raise InvalidInput(
            f"invalid organisation name {name!r}",
            hint="use lowercase letters, digits and dashes (at most 63 characters)",
        )
    return name


def find_org(session: Session, name: str) -> Organization | None:
    """The organisation called ``name``, if any."""
    return session.scalar(select(Organization).where(Organization.name == name))


def get_org(session: Session, org_id: str) -> Organization:
    """The organisation with this id; NotFound otherwise."""
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound("organisation not found")
    return org


def create_org(
    session: Session, name: str, *, allow_implicit_creation: bool = True
) -> Organization:
    """A new organisation; Conflict if the name is taken."""
    check_org_name(name)
    if find_org(session, name) is not None:
        raise Conflict(f"organisation {name!r} already exists")
    org = Organization(name=name, allow_implicit_creation=allow_implicit_creation)
    session.add(org)
    session.flush()
    audit.record(session, org.id, None, "org.create", org.name)
    return org


def add_member(session: Session, org: Organization, user_name: str, role: str) -> User:
    """A new user with a membership in ``org``."""
    if role not in ("owner", "admin", "member", "viewer"):
        raise InvalidInput(f"unknown role {role!r}", hint="owner, admin, member or viewer")
    user = User(name=user_name)
    session.add(user)
    session.flush()
    session.add(Membership(org_id=org.id, user_id=user.id, role=role))
    audit.record(session, org.id, None, "member.add", user.id, role=role)
    return user


def org_view(org: Organization) -> dict[str, Any]:
    """``{"id","name"}``."""
    return {"id": org.id, "name": org.name}


def settings_view(org: Organization) -> dict[str, Any]:
    """The organisation with its settings."""
    return {
        **org_view(org),
        "allow_implicit_creation": org.allow_implicit_creation,
        "policy_strategy": org.policy_strategy or DEFAULT_POLICY_STRATEGY,
        "required_policies": org.required_policies,
        "contract_grace_seconds": org.contract_grace_seconds,
        "default_contract": _default_contract_name(org),
        "refuse_released_versions": bool(org.refuse_released_versions),
        "revoke_unused_tokens_seconds": org.revoke_unused_tokens_seconds,
        "policy_allowed_hostnames": list(org.policy_allowed_hostnames or []),
        "created_at": rfc3339(org.created_at),
    }


def _default_contract_name(org: Organization) -> str | None:
    session = object_session(org)
    if not org.default_contract_id or session is None:
        return None
    row = session.get(ContractRow, org.default_contract_id)
    return row.name if row else None


def describe(session: Session, actor: Principal) -> Organization:
    """The caller's organisation."""
    return get_org(session, actor.org_id)


_UNSET: Any = object()


def update(
    session: Session,
    actor: Principal,
    *,
    allow_implicit_creation: bool | None = None,
    policy_strategy: str | None = None,
    required_policies: dict[str, Any] | None = _UNSET,
    contract_grace_seconds: int | None = None,
    default_contract: str | None = _UNSET,
    refuse_released_versions: bool | None = None,
    revoke_unused_tokens_seconds: int | None = None,
    policy_allowed_hostnames: list[str] | None = None,
) -> Organization:
    """Change organisation settings (owner/admin); audited.

    ``policy_strategy`` is ``advisory`` or ``enforced`` (what an ungated violation does);
    ``required_policies`` (a ``policies``/``policyGroups`` document, or None to clear) are
    evaluated on every run of every workflow, whatever its contract says;
    ``contract_grace_seconds`` (0 disables) is how long a new contract revision waits before
    runs on older revisions are refused (:mod:`.requirements`).
    ``default_contract`` (a contract name, or None to clear) is attached to workflows created
    implicitly or without a contract instead of a new empty one.
    ``refuse_released_versions`` refuses init and push on released project versions
    (:mod:`.versions`).
    ``revoke_unused_tokens_seconds`` (0 disables) revokes API tokens, but owners', unused for
    that long (:func:`.tokens.revoke_unused`).
    ``policy_allowed_hostnames`` (an empty list clears it) are the hosts policies'
    ``http.send`` may reach (:mod:`chainproof.policy.network`).
    """
    actor.require_admin()
    org = get_org(session, actor.org_id)
    if allow_implicit_creation is not None:
        org.allow_implicit_creation = allow_implicit_creation
    if policy_strategy is not None:
        if policy_strategy not in POLICY_STRATEGIES:
            raise InvalidInput(
                f"unknown policy strategy {policy_strategy!r}",
                hint="use advisory (violations are recorded) or enforced (they block pushes)",
            )
        org.policy_strategy = policy_strategy
    if contract_grace_seconds is not None:
        if contract_grace_seconds < 0:
            raise InvalidInput("the contract grace period cannot be negative")
        org.contract_grace_seconds = contract_grace_seconds or None
    if required_policies is not _UNSET:
        if required_policies:
            parse_required_policies(required_policies)
            org.required_policies = required_policies
        else:
            org.required_policies = None
    if default_contract is not _UNSET:
        org.default_contract_id = _contract_id(session, org.id, default_contract)
    if refuse_released_versions is not None:
        org.refuse_released_versions = refuse_released_versions
    if revoke_unused_tokens_seconds is not None:
        if 0 < revoke_unused_tokens_seconds < 86400:
            raise InvalidInput(
                "tokens can be revoked after a day of disuse at the earliest",
                hint="e.g. --revoke-unused-tokens-after 90d; 0 keeps unused tokens",
            )
        org.revoke_unused_tokens_seconds = revoke_unused_tokens_seconds or None
    if policy_allowed_hostnames is not None:
        from chainproof.policy.network import parse_hostnames

        org.policy_allowed_hostnames = parse_hostnames(policy_allowed_hostnames) or None
    session.flush()
    audit.record(
        session,
        org.id,
        actor,
        "org.update",
        org.id,
        allow_implicit_creation=org.allow_implicit_creation,
        policy_strategy=org.policy_strategy,
        required_policies=org.required_policies,
        contract_grace_seconds=org.contract_grace_seconds,
        default_contract=_default_contract_name(org),
        refuse_released_versions=org.refuse_released_versions,
        revoke_unused_tokens_seconds=org.revoke_unused_tokens_seconds,
        policy_allowed_hostnames=org.policy_allowed_hostnames,
    )
    return org


def _contract_id(session: Session, org_id: str, name: str | None) -> str | None:
    if not name:
        return None
    row = session.scalar(
        select(ContractRow).where(ContractRow.org_id == org_id, ContractRow.name == name)
    )
    if row is None:
        raise NotFound(
            f"contract {name!r} not found", hint="create it with `workflow contract create`"
        )
    return row.id
