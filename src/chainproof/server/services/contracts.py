"""Contracts and their immutable numbered revisions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chainproof.core.contract import Contract
from chainproof.errors import Conflict, InvalidInput, NotFound
from chainproof.server.db import ContractRevision, ContractRow
from chainproof.server.db.base import utcnow
from chainproof.server.db.inserts import insert_if_absent
from chainproof.server.services import audit, events, visibility
from chainproof.server.services.orgs import check_name
from chainproof.server.support import pagination
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

MAX_RAW = 256 * 1024


def parse(name: str, raw: str) -> Contract:
    """Parse and validate contract text; ContractError with line and field."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput("the contract text is empty")
    if len(raw) > MAX_RAW:
        raise InvalidInput(f"the contract text is larger than {MAX_RAW} bytes")
    return Contract.parse(raw, source=name)


def _normalised(spec: Contract) -> dict[str, Any]:
    """The spec as stored: plain JSON, so revisions compare equal when they mean the same."""
    data: dict[str, Any] = json.loads(json.dumps(spec.to_dict(), sort_keys=True))
    return data


def find(session: Session, org_id: str, name: str) -> ContractRow | None:
    """The contract called ``name`` in the organisation, if any."""
    return session.scalar(
        select(ContractRow).where(ContractRow.org_id == org_id, ContractRow.name == name)
    )


def get(session: Session, org_id: str, name: str) -> ContractRow:
    """The contract called ``name``; NotFound otherwise."""
    row = find(session, org_id, name)
    if row is None:
        raise NotFound(f"contract {name!r} not found")
    return row


def revision(
    session: Session, contract: ContractRow, number: int | None = None
) -> ContractRevision:
    """Revision ``number`` (default: latest); NotFound if there is no such revision."""
    wanted = contract.latest_revision if number is None else number
    row = session.scalar(
        select(ContractRevision).where(
            ContractRevision.contract_id == contract.id, ContractRevision.revision == wanted
        )
    )
    if row is None:
        raise NotFound(f"contract {contract.name!r} has no revision {wanted}")
    return row


def insert(
    session: Session,
    actor: Principal,
    name: str,
    spec: Contract,
    raw: str,
    description: str | None = None,
) -> tuple[ContractRow, ContractRevision]:
    """Store a new contract with revision 1 (no permission check); Conflict if it exists."""
    row, created = _insert(session, actor, name, spec, raw, description)
    if not created:
        raise Conflict(f"contract {name!r} already exists", hint="update it to add a revision")
    return row, revision(session, row, 1)


def ensure(session: Session, actor: Principal, name: str, spec: Contract, raw: str) -> ContractRow:
    """The contract ``name``, stored with ``spec`` as revision 1 if missing (implicit creation
    for a new workflow: concurrent first uses all get the one row, db/inserts.py)."""
    return find(session, actor.org_id, name) or _insert(session, actor, name, spec, raw)[0]


def _insert(
    session: Session,
    actor: Principal,
    name: str,
    spec: Contract,
    raw: str,
    description: str | None = None,
) -> tuple[ContractRow, bool]:
    check_name("contract", name)
    created = insert_if_absent(
        session,
        ContractRow,
        org_id=actor.org_id,
        name=name,
        description=description if description is not None else spec.description,
        latest_revision=1,
    )
    row = get(session, actor.org_id, name)
    if created:
        rev = ContractRevision(contract_id=row.id, revision=1, raw=raw, spec=_normalised(spec))
        session.add(rev)
        session.flush()
        audit.record(session, actor.org_id, actor, "contract.create", row.id, name=name, revision=1)
    return row, created


def create(
    session: Session, actor: Principal, name: str, raw: str, description: str | None = None
) -> tuple[ContractRow, ContractRevision]:
    """A new contract from YAML/JSON text (owner/admin)."""
    actor.require_admin()
    check_name("contract", name)
    return insert(session, actor, name, parse(name, raw), raw, description)


def ensure_empty(session: Session, actor: Principal, name: str) -> ContractRow:
    """The contract ``name``, created empty if missing (for a workflow created without one)."""
    spec = Contract.empty(name)
    return ensure(session, actor, name, spec, json.dumps(spec.to_dict(), indent=2))


def update(
    session: Session, actor: Principal, name: str, raw: str, now: datetime | None = None
) -> tuple[ContractRow, ContractRevision]:
    """Add revision N+1, unless the normalised spec equals the latest (then return it);
    ``now`` is its publication time (default: the current time)."""
    actor.require_admin()
    row = get(session, actor.org_id, name)
    spec = _normalised(parse(name, raw))
    latest = revision(session, row)
    if latest.spec == spec:
        return row, latest
    row.latest_revision += 1
    rev = ContractRevision(
        contract_id=row.id,
        revision=row.latest_revision,
        raw=raw,
        spec=spec,
        created_at=now or utcnow(),
    )
    session.add(rev)
    session.flush()
    audit.record(
        session, actor.org_id, actor, "contract.update", row.id, revision=row.latest_revision
    )
    events.contract_published(session, row, rev)  # outbox (docs/integrations.md)
    return row, rev


def list_page(
    session: Session, actor: Principal, limit: int, cursor: str | None
) -> tuple[list[ContractRow], str | None]:
    """Contracts by name (a person holding project roles: those their projects use)."""
    actor.require_reader()
    stmt = select(ContractRow).where(ContractRow.org_id == actor.org_id).order_by(ContractRow.name)
    in_use = visibility.contracts_in_use(actor, ContractRow.id)
    if in_use is not None:
        stmt = stmt.where(in_use)
    return pagination.page(session, stmt, limit, cursor)


def describe(session: Session, actor: Principal, name: str) -> ContractRow:
    """A contract the caller may read; NotFound when missing or not used by their projects."""
    actor.require_reader()
    row = get(session, actor.org_id, name)
    visibility.require_contract(session, actor, row)
    return row


def view(contract: ContractRow, rev: ContractRevision) -> dict[str, Any]:
    """Contract JSON per docs/api.md."""
    return {
        "id": contract.id,
        "name": contract.name,
        "description": contract.description,
        "revision": rev.revision,
        "latest_revision": contract.latest_revision,
        "raw": rev.raw,
        "spec": rev.spec,
        "created_at": rfc3339(rev.created_at),
    }
