"""Verify a bundle under the caller's organisation's trust, recording nothing.

An admission check or a deploy gate that holds a bundle asks the control plane "does this
verify under my organisation's root?" without carrying the CA material itself
(``POST /api/v1/bundles/verify``, docs/api.md "Bundles"). The checks are the push's signature
checks (:mod:`.push`): the organisation's trusted root (its CAs, CT logs, log keys, TSAs) and
its registered keys, through the same :class:`~chainproof.signing.verifier.Verifier`. Without
a run to name, a certificate must name an identity of this organisation (every certificate
its CA issues does), and a chainproof statement signed by a run's certificate must be that
run's.

A log entry is optional, as at push (a bundle before its push has none), but checked
whenever present: its inclusion proof against the checkpoint the organisation's log signed,
its signed entry timestamp, and that it records this very signature, key and content. The
caller may require one (``require_log_entry``: only bundles the control plane accepted).

Nothing is written: no run is locked, nothing is logged, no service key is created (the root
is built from the keys that exist; a bundle cannot rely on a key that does not). On
PostgreSQL the transaction is made read-only, so a write by mistake would fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from chainproof.core.bundle import Bundle
from chainproof.core.digest import Digest
from chainproof.core.statement import PREDICATE_TYPE
from chainproof.errors import VerificationError
from chainproof.server.services import push_checks, signing
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

if TYPE_CHECKING:  # the verifier's modules load when a bundle is first checked
    from chainproof.signing.logentry import LogEntry
    from chainproof.signing.verifier import VerifiedAttestation

#: Where a run's certificate identity names its run (signing/ca.py: identity_uri).
_RUN_SEGMENT = "/runs/"


@dataclass(frozen=True)
class Checked:
    """A bundle that verified: what it proves, and which log entries were checked."""

    verified: VerifiedAttestation
    statement_digest: Digest
    log_entries: tuple[LogEntry, ...]

    def to_dict(self) -> dict[str, Any]:
        """The API's answer (docs/api.md, "Bundles")."""
        statement = self.verified.statement
        return {
            "verified": True,
            "identity": self.verified.identity,
            "issuer": self.verified.issuer,
            "key_signed": self.verified.certificate_der is None,
            "statement_digest": str(self.statement_digest),
            "predicate_type": statement.predicate_type,
            "subjects": statement.subjects,
            "run_id": statement.workflow_run_id,
            # Every entry the bundle carries was checked; a chainproof push adds one.
            "log_entries": [
                {"log_index": e.log_index, "integrated_time": e.integrated_time}
                for e in self.log_entries
            ],
            "signed_at": [rfc3339(at) for at in self.verified.signed_at],
            "checks": list(self.verified.checks),
        }


def verify(
    session: Session,
    actor: Principal,
    bundle: dict[str, Any],
    *,
    public_key: str | None = None,
    require_log_entry: bool = False,
) -> Checked:
    """Verify ``bundle`` as a push would, against ``actor``'s organisation; VerificationError
    (422 ``verification_failed``) naming the failed check otherwise. Reads only."""
    from chainproof.signing.logentry import parse_entries

    actor.require_reader()
    _read_only(session)
    parsed = push_checks.parse(bundle)
    verified = _verify(session, actor, parsed, public_key, require_log_entry)
    _check_run(actor, verified)
    return Checked(
        verified=verified,
        statement_digest=Digest.of_bytes(_payload(parsed)),
        log_entries=tuple(parse_entries(parsed.tlog_entries)),
    )


def _read_only(session: Session) -> None:
    """Flush what authentication changed (a token's last use), then, on PostgreSQL, make the
    rest of the transaction read-only: the database refuses any write from here on. SQLite
    has no per-transaction switch; the tests count its statements instead."""
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET TRANSACTION READ ONLY"))


def _payload(bundle: Bundle) -> bytes:
    envelope = bundle.dsse_envelope
    assert envelope is not None  # Bundle.from_json accepts DSSE bundles only here
    return envelope.payload


def _verify(
    session: Session,
    actor: Principal,
    bundle: Bundle,
    public_key: str | None,
    require_log_entry: bool,
) -> VerifiedAttestation:
    """The push's checks (services/push.py ``_verify``) with the organisation's prefix as the
    identity, since no run is named."""
    from chainproof.signing.ca import org_identity_prefix
    from chainproof.signing.verifier import IdentityPrefix, KeyIdentity, Verifier

    root = signing.existing_trusted_root(session, actor)
    if bundle.leaf_certificate_der is None:
        if not public_key or signing.registered_key(session, actor.org_id, public_key) is None:
            raise VerificationError(
                "key-signed bundles need the public key registered",
                hint="send the key as public_key; an admin registers it with "
                "POST /api/v1/signing/keys",
            )
        # The root too: a stored key-signed bundle carries the log entry and timestamp the
        # organisation's log and TSA made.
        verifier = Verifier(
            trusted_root=root, public_keys=[public_key.encode()], require_tlog=require_log_entry
        )
        return verifier.verify(bundle, KeyIdentity.of_pem(public_key.encode()))
    verifier = Verifier(trusted_root=root, require_tlog=require_log_entry)
    return verifier.verify(bundle, IdentityPrefix(org_identity_prefix(actor.org_name)))


def _check_run(actor: Principal, verified: VerifiedAttestation) -> None:
    """A chainproof statement signed with a run's certificate must be that run's (the push
    checks it against the run it records)."""
    from chainproof.signing.ca import org_identity_prefix

    statement = verified.statement
    if statement.predicate_type != PREDICATE_TYPE or verified.certificate_der is None:
        return
    # Verified above: the identity starts with the organisation's prefix.
    path = verified.identity.removeprefix(org_identity_prefix(actor.org_name))
    _, named, signed_for = path.rpartition(_RUN_SEGMENT)
    if not named:
        return  # the control plane's own identity (VSAs, provenance) names no run
    if statement.workflow_run_id != signed_for:
        raise VerificationError(
            f"the statement is for run {statement.workflow_run_id!r}, but the certificate "
            f"was issued to run {signed_for}"
        )
