"""Policies and policy groups an organisation stores, with immutable numbered revisions.

Documents are Chainloop's (``kind: Policy`` or ``kind: PolicyGroup``), parsed by
:func:`chainproof.policy.document.parse_document`; the name is the document's
``metadata.name``. A stored document must be self-contained: the control plane evaluates it
at push time and has nowhere to read a ``path:`` script or a group's ``file://`` reference
from (its own disk is not the tenant's), so both are refused when the document is stored.

Contracts reach the stored documents through :class:`chainproof.policy.PolicyLoader`:
:func:`resolver` answers bare names with the latest revision, :func:`pinned_resolver` answers
``name@sha256:<hex>`` with the revision that has that digest, and :func:`loader` wires both.
Names of built-in policies are refused, so a stored document never shadows one.

Reading is open to every token of the organisation, robots included: ``attestation add``
resolves the contract's policies with the CI job's robot token. Writing needs owner/admin.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chainproof.errors import Conflict, InvalidInput, NotFound, TooLarge
from chainproof.policy import builtin
from chainproof.policy.document import MAX_POLICY_BYTES, Policy, PolicyGroup
from chainproof.policy.loader import NamedResolver, PinnedResolver, PolicyLoader, parse_stored
from chainproof.server.db import PolicyRevision, PolicyRow
from chainproof.server.db.base import utcnow
from chainproof.server.services import audit, orgs
from chainproof.server.support import pagination
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

if TYPE_CHECKING:
    from chainproof.policy import RegoEngine

MAX_DOCUMENT_BYTES = MAX_POLICY_BYTES
"""The largest document stored: what the parser accepts from a file, so any policy that
lints locally can be stored."""
SOURCE = "document"
"""How parse errors name a posted document (``document:LINE: field: problem``): the body
field it came in."""
_DIGEST = re.compile(r"^sha256:([0-9a-fA-F]{64})$")

Document = Policy | PolicyGroup


# -- parsing ---------------------------------------------------------------------------------
def parse(raw: str, source: str = SOURCE) -> tuple[Document, bytes]:
    """Check a document's size, parse it and check that it is self-contained.

    Returns the document and the exact bytes its digest is of. Raises TooLarge before
    parsing, PolicyError (``source:line: field: problem``) when it is invalid.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput("the policy document is empty")
    try:
        data = raw.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("the policy document is not valid Unicode text") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise TooLarge(f"the policy document is larger than {MAX_DOCUMENT_BYTES} bytes")
    return parse_stored(data, source=source), data


def kind_of(doc: Document) -> str:
    """``Policy`` or ``PolicyGroup``, as the document says."""
    return "PolicyGroup" if isinstance(doc, PolicyGroup) else "Policy"


def _builtin_kind(name: str) -> str:
    return (
        "built-in policy group"
        if kind_of(builtin.load(name)) == "PolicyGroup"
        else ("built-in policy")
    )


# -- rows ------------------------------------------------------------------------------------
def find(session: Session, org_id: str, name: str, *, lock: bool = False) -> PolicyRow | None:
    """The stored policy or group called ``name`` in the organisation, if any; ``lock``
    holds its row (PostgreSQL) so concurrent updates number their revisions one by one."""
    stmt = select(PolicyRow).where(PolicyRow.org_id == org_id, PolicyRow.name == name)
    return session.scalar(stmt.with_for_update() if lock else stmt)


def latest_revision(session: Session, row: PolicyRow) -> PolicyRevision:
    """The newest revision of a stored policy (there is always one)."""
    rev = session.scalar(
        select(PolicyRevision)
        .where(PolicyRevision.policy_id == row.id)
        .order_by(PolicyRevision.revision.desc())
        .limit(1)
    )
    if rev is None:  # pragma: no cover - create always adds revision 1
        raise NotFound(f"policy {row.name!r} has no revisions")
    return rev


def revision_at(session: Session, row: PolicyRow, number: int) -> PolicyRevision:
    """Revision ``number`` of a stored policy; NotFound when there is none."""
    rev = session.scalar(
        select(PolicyRevision).where(
            PolicyRevision.policy_id == row.id, PolicyRevision.revision == number
        )
    )
    if rev is None:
        raise NotFound(f"policy {row.name!r} has no revision {number}")
    return rev


def revision_with_digest(session: Session, row: PolicyRow, digest: str) -> PolicyRevision | None:
    """The newest revision whose document has sha256 ``digest`` (hex), if any."""
    return session.scalar(
        select(PolicyRevision)
        .where(PolicyRevision.policy_id == row.id, PolicyRevision.digest == digest.lower())
        .order_by(PolicyRevision.revision.desc())
        .limit(1)
    )


def revision_uri(org_name: str, name: str, number: int) -> str:
    """Where an evaluation record says a stored policy came from."""
    return f"chainproof://{org_name}/policies/{name}/revisions/{number}"


# -- use cases -------------------------------------------------------------------------------
def create(
    session: Session, actor: Principal, raw: str, *, engine: RegoEngine | None = None
) -> tuple[PolicyRow, PolicyRevision]:
    """Store a new policy or group (revision 1) named by its ``metadata.name``; owner/admin.

    Conflict when the organisation has one of that name or a built-in one has it. With an
    ``engine``, its embedded scripts are compiled first (:func:`compile_scripts`).
    """
    actor.require_admin()
    doc, data = parse(raw)
    if engine is not None:
        compile_scripts(doc, engine)
    if doc.name in builtin.names():
        raise Conflict(
            f"{doc.name!r} is the name of a {_builtin_kind(doc.name)}",
            hint="choose another metadata.name; contracts refer to the built-in one by it",
        )
    if find(session, actor.org_id, doc.name) is not None:
        raise Conflict(
            f"policy {doc.name!r} already exists",
            hint=f"use `chainproof policy update` to add a revision to {doc.name!r}",
        )
    now = utcnow()
    row = PolicyRow(
        org_id=actor.org_id,
        name=doc.name,
        kind=kind_of(doc),
        description=doc.description or None,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # Another admin stored the same name between our check and our insert.
        raise Conflict(f"policy {doc.name!r} already exists") from None
    rev = _add_revision(session, actor, row, 1, doc, data, now)
    audit.record(
        session,
        actor.org_id,
        actor,
        "policy.create",
        row.id,
        name=row.name,
        kind=row.kind,
        revision=1,
        digest=rev.digest,
    )
    return row, rev


def update(
    session: Session, actor: Principal, name: str, raw: str, *, engine: RegoEngine | None = None
) -> tuple[PolicyRow, PolicyRevision]:
    """Add revision N+1 when the document's digest differs from the latest's, else return
    the latest unchanged; owner/admin. The name and the kind cannot change (InvalidInput):
    contracts attach the document by name, as a policy or as a group. With an ``engine``,
    the new document's embedded scripts are compiled first (:func:`compile_scripts`)."""
    actor.require_admin()
    row = find(session, actor.org_id, name, lock=True)
    if row is None:
        if name in builtin.names():
            raise Conflict(
                f"{name!r} is a {_builtin_kind(name)}, which cannot be changed",
                hint="store your own version under another name and refer to that",
            )
        raise NotFound(f"policy {name!r} not found")
    doc, data = parse(raw, source=name)
    if doc.name != name:
        raise InvalidInput(
            f"the document is named {doc.name!r}, not {name!r}",
            hint="a policy cannot be renamed: create one under the new name",
        )
    if kind_of(doc) != row.kind:
        raise InvalidInput(
            f"policy {name!r} is a {row.kind}; the document is a {kind_of(doc)}",
            hint="the kind cannot change: create the new document under another name",
        )
    latest = latest_revision(session, row)
    if latest.digest == doc.digest:
        return row, latest
    if engine is not None:
        compile_scripts(doc, engine)
    now = utcnow()
    rev = _add_revision(session, actor, row, latest.revision + 1, doc, data, now)
    row.description = doc.description or None
    row.updated_at = now
    audit.record(
        session,
        actor.org_id,
        actor,
        "policy.update",
        row.id,
        name=row.name,
        revision=rev.revision,
        digest=rev.digest,
    )
    return row, rev


def compile_scripts(doc: Document, engine: RegoEngine) -> None:
    """Compile each script the document embeds (a group's embedded policies too) as
    evaluation would: PolicyError, naming the line where the source check finds it, for v0
    syntax, a Rego error or a forbidden built-in. The last is read from rego-cpp's compiled
    plan, so a call the source hides is refused too; evaluation checks again."""
    from chainproof.policy import prepare
    from chainproof.policy.loader import refuse_scripts

    policies = [doc] if isinstance(doc, Policy) else []
    if isinstance(doc, PolicyGroup):
        attachments = [a for m in doc.materials for a in m.policies] + list(doc.attestation)
        for attachment in attachments:
            embedded = attachment.get("embedded")
            if isinstance(embedded, Mapping):
                source = f"{SOURCE}: embedded policy"
                policies.append(Policy.from_dict(embedded, source=source, load=refuse_scripts))
    for policy in policies:
        for script in policy.scripts:
            engine.check(prepare(script, policy.name))


def _add_revision(
    session: Session,
    actor: Principal,
    row: PolicyRow,
    number: int,
    doc: Document,
    data: bytes,
    now: datetime,
) -> PolicyRevision:
    rev = PolicyRevision(
        policy_id=row.id,
        revision=number,
        raw=data.decode("utf-8"),
        digest=doc.digest,
        created_at=now,
        created_by=actor.token_name,
    )
    try:
        with session.begin_nested():
            session.add(rev)
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"policy {row.name!r} changed at the same time", hint="retry the command"
        ) from None
    return rev


def get(
    session: Session,
    actor: Principal,
    name: str,
    revision: int | None = None,
    digest: str | None = None,
) -> dict[str, Any]:
    """The view of a stored policy at a revision (default latest), or at the revision with
    ``digest`` (``sha256:<hex>``); a built-in one when the organisation stores none of that
    name (built-ins have no revisions). NotFound otherwise."""
    want = _digest_hex(digest) if digest is not None else None
    row = find(session, actor.org_id, name)
    if row is None:
        if name not in builtin.names():
            raise NotFound(f"policy {name!r} not found")
        if revision is not None:
            raise NotFound(f"built-in policy {name!r} has no revisions")
        out = builtin_view(name)
        if want is not None and out["digest"] != f"sha256:{want}":
            raise NotFound(f"built-in policy {name!r} does not have digest sha256:{want}")
        return out
    if want is not None:
        rev = revision_with_digest(session, row, want)
        if rev is None or (revision is not None and rev.revision != revision):
            raise NotFound(f"policy {name!r} has no revision with digest sha256:{want}")
    elif revision is not None:
        rev = revision_at(session, row, revision)
    else:
        rev = latest_revision(session, row)
    return view(actor.org_name, row, rev, latest=latest_revision(session, row).revision)


def _digest_hex(digest: str) -> str:
    match = _DIGEST.fullmatch(digest.strip())
    if match is None:
        raise InvalidInput(f"{digest!r} is not a digest", hint="write sha256:<64 hex digits>")
    return match.group(1).lower()


def list_page(
    session: Session,
    actor: Principal,
    limit: int,
    cursor: str | None,
    *,
    include_builtin: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """The organisation's stored policies by name, latest revision each (without the
    document text); with ``include_builtin``, merged with the built-in library by name,
    each marked with its ``source`` (``org`` or ``builtin``)."""
    if limit < 1 or limit > pagination.MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {pagination.MAX_LIMIT}")
    offset = pagination.offset_of(cursor)
    newest = (
        select(func.max(PolicyRevision.revision))
        .where(PolicyRevision.policy_id == PolicyRow.id)
        .correlate(PolicyRow)
        .scalar_subquery()
    )
    stmt = (
        select(PolicyRow, PolicyRevision)
        .join(
            PolicyRevision,
            and_(PolicyRevision.policy_id == PolicyRow.id, PolicyRevision.revision == newest),
        )
        .where(PolicyRow.org_id == actor.org_id)
        .order_by(PolicyRow.name)
    )
    if include_builtin:
        # The first offset+limit+1 stored rows and every built-in hold the exact first
        # offset+limit+1 items of the merged order (the names never clash: create refuses).
        stored = session.execute(stmt.limit(offset + limit + 1)).all()
        merged = [_summary(view(actor.org_name, row, rev)) for row, rev in stored]
        merged += [_summary(builtin_view(n)) for n in builtin.names()]
        merged.sort(key=lambda item: str(item["name"]))
        window = merged[offset : offset + limit + 1]
    else:
        rows = session.execute(stmt.offset(offset).limit(limit + 1)).all()
        window = [_summary(view(actor.org_name, row, rev)) for row, rev in rows]
    more = len(window) > limit
    return window[:limit], pagination.cursor_at(offset + limit) if more else None


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    """A list item: the view without the document text."""
    return {k: v for k, v in item.items() if k != "document"}


def view(
    org_name: str, row: PolicyRow, rev: PolicyRevision, *, latest: int | None = None
) -> dict[str, Any]:
    """Stored policy JSON per docs/api.md."""
    return {
        "name": row.name,
        "kind": row.kind,
        "description": row.description,
        "source": "org",
        "revision": rev.revision,
        "latest_revision": latest if latest is not None else rev.revision,
        "digest": f"sha256:{rev.digest}",
        "uri": revision_uri(org_name, row.name, rev.revision),
        "document": rev.raw,
        "created_at": rfc3339(rev.created_at),
        "created_by": rev.created_by,
        "updated_at": rfc3339(row.updated_at),
    }


def builtin_view(name: str) -> dict[str, Any]:
    """A built-in policy in the same shape (no revisions, no times)."""
    doc = builtin.load(name)
    return {
        "name": name,
        "kind": kind_of(doc),
        "description": doc.description or None,
        "source": "builtin",
        "revision": None,
        "latest_revision": None,
        "digest": f"sha256:{doc.digest}",
        "uri": f"chainproof://builtin/{name}",
        "document": builtin.raw(name).decode("utf-8"),
        "created_at": None,
        "created_by": None,
        "updated_at": None,
    }


# -- the policy loader's hooks ---------------------------------------------------------------
def resolver(session: Session, org_id: str) -> NamedResolver:
    """``PolicyLoader(named=...)`` for the organisation: a bare name → the latest revision's
    text and ``chainproof://{org}/policies/{name}/revisions/{n}``, or None (the loader then
    falls back to the built-in library)."""
    org_name = orgs.get_org(session, org_id).name

    def named(name: str) -> tuple[bytes, str] | None:
        row = find(session, org_id, name)
        if row is None:
            return None
        rev = latest_revision(session, row)
        return rev.raw.encode("utf-8"), revision_uri(org_name, name, rev.revision)

    return named


def pinned_resolver(session: Session, org_id: str) -> PinnedResolver:
    """``PolicyLoader(pinned=...)``: (name, sha256 hex) → the newest revision with that
    digest, or None (the loader then asks ``named`` and reports the pin mismatch)."""
    org_name = orgs.get_org(session, org_id).name

    def pinned(name: str, digest: str) -> tuple[bytes, str] | None:
        row = find(session, org_id, name)
        rev = revision_with_digest(session, row, digest) if row is not None else None
        if row is None or rev is None:
            return None
        return rev.raw.encode("utf-8"), revision_uri(org_name, name, rev.revision)

    return pinned


def loader(session: Session, org_id: str, **kwargs: Any) -> PolicyLoader:
    """A PolicyLoader that resolves the organisation's stored documents (both hooks);
    ``kwargs`` go to PolicyLoader (``base_dir``, ``fetch``)."""
    return PolicyLoader(
        named=resolver(session, org_id), pinned=pinned_resolver(session, org_id), **kwargs
    )
