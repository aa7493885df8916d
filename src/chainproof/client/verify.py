"""``chainproof verify``: verify a Sigstore bundle offline and report what it proves.

:func:`verify_bundle` is the whole check, with no network: parse the bundle, pick the
identity policy, run :class:`~chainproof.signing.verifier.Verifier` against a trusted root,
then check the artifact and, with a materials directory, every material digest of a
chainproof predicate. :func:`load_trusted_root` finds the root: a file, Sigstore's
public-good root shipped with sigstore-python, or the organisation's root from the control
plane (the only step that may use the network, and only when asked to).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainproof.core.bundle import Bundle
from chainproof.core.chainloop_predicate import is_chainloop, read_predicate
from chainproof.core.digest import Digest
from chainproof.core.statement import PREDICATE_TYPE, Statement
from chainproof.errors import InvalidInput, VerificationError
from chainproof.signing.identity import (
    AllOf,
    ExactIdentity,
    IdentityPolicy,
    KeyIdentity,
    OidcIssuer,
    UnsafeNoIdentityCheck,
)
from chainproof.signing.trust import TrustedRoot
from chainproof.signing.verifier import Verifier

if TYPE_CHECKING:
    from chainproof.client.http import ApiClient

__all__ = [
    "Artifact",
    "CasFetch",
    "cas_fetcher",
    "load_trusted_root",
    "parse_artifact",
    "verify_bundle",
]

#: Fetch one blob from the CAS and check its bytes against the digest: True when the CAS
#: served exactly those bytes, False when it does not serve that digest to this token.
CasFetch = Callable[[Digest], bool]

# Materials whose digest names something outside a directory of files (a registry image).
_NOT_FILES = frozenset({"CONTAINER_IMAGE"})
MAX_BUNDLE_FILE = 16 * 1024 * 1024


@dataclass(frozen=True)
class Artifact:
    """What the bundle should be about: a file's bytes, or only its SHA-256."""

    digest: Digest
    data: bytes | None = None
    name: str = ""


def parse_artifact(value: str) -> Artifact:
    """``--artifact`` as given: ``sha256:HEX`` or a file path (InvalidInput if neither)."""
    if value.startswith("sha256:"):
        try:
            return Artifact(Digest.parse(value), name=value)
        except InvalidInput:
            raise InvalidInput(f"{value!r} is not a sha256:HEX digest") from None
    path = Path(value)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InvalidInput(f"cannot read the artifact {value}: {err.strerror}") from None
    return Artifact(Digest.of_bytes(data), data, path.name)


def load_trusted_root(
    *,
    path: Path | None = None,
    public_good: bool = False,
    api: ApiClient | None = None,
) -> TrustedRoot:
    """The trusted root to verify with: ``path``, else the public-good root, else the
    organisation's root from ``api``. InvalidInput when none is given."""
    if path is not None:
        return TrustedRoot.from_file(path)
    if public_good:
        return TrustedRoot.public_good()
    if api is not None:
        return TrustedRoot.from_json(api.trust_root())
    raise InvalidInput(
        "no trusted root to verify with",
        hint="pass --trusted-root FILE or --public-good, or set CHAINPROOF_URL and "
        "CHAINPROOF_TOKEN to use the organisation's root",
    )


def _policy(
    bundle: Bundle, identity: str | None, issuer: str | None, key_pem: bytes | None, strict: bool
) -> tuple[IdentityPolicy, str]:
    if bundle.leaf_certificate_der is None:
        if key_pem is None:
            raise VerificationError(
                "key check failed: the bundle is signed with a key, and no --key was given"
            )
        return KeyIdentity.of_pem(key_pem), "the given key"
    if key_pem is not None:
        raise VerificationError(
            "key check failed: the bundle is signed with a certificate, not a key",
            hint="verify it with --certificate-identity and --certificate-oidc-issuer",
        )
    policies: list[IdentityPolicy] = []
    if identity is not None:
        policies.append(ExactIdentity(identity))
    if issuer is not None:
        policies.append(OidcIssuer(issuer))
    if policies:
        return AllOf(tuple(policies)), "as given"
    if strict:
        raise InvalidInput(
            "give --certificate-identity and --certificate-oidc-issuer",
            hint="the public-good root certifies anyone: say whose signature you expect",
        )
    return UnsafeNoIdentityCheck(), "not checked (any signer the root's CAs certify)"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash_files(directory: Path) -> dict[str, str]:
    """sha256 hex → relative path of every regular file under ``directory``."""
    if not directory.is_dir():
        raise InvalidInput(f"--materials {directory} is not a directory")
    found: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        sha = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                sha.update(chunk)
        found.setdefault(sha.hexdigest(), str(path.relative_to(directory)))
    return found


def check_materials(
    statement: Statement, directory: Path | None = None, cas: CasFetch | None = None
) -> list[dict[str, str]]:
    """Check every material of a chainproof or Chainloop predicate against files and/or
    the CAS.

    Inline values (``content``) must hash to their digest; container images are skipped
    (their digest names a registry manifest); every other material must be a file under
    ``directory`` with that digest or, with ``cas``, a CAS blob whose downloaded bytes hash
    to it. Returns one row per material; raises VerificationError ("materials check failed:
    ...") naming each material that does not match.
    """
    try:
        materials = _materials(statement)
    except InvalidInput as err:
        raise VerificationError(f"materials check failed: {err.message}", hint=err.hint) from None
    files = _hash_files(directory) if directory is not None else {}
    rows, bad = [], []
    for material in materials:
        row = _check_material(material, files, cas)
        rows.append(row)
        if not row["result"].startswith(("matches", "inline value matches", "skipped")):
            bad.append(row["name"])
    if bad:
        where = " and ".join(
            w for w in (str(directory) if directory else "", "the CAS" if cas else "") if w
        )
        raise VerificationError(
            f"materials check failed: {len(bad)} material(s) do not match {where}: "
            + ", ".join(bad)
        )
    return rows


@dataclass(frozen=True)
class _Checked:
    """What the materials check reads of one material, whichever predicate holds it."""

    name: str
    kind: str
    digest: Digest
    content: bytes | None
    in_cas: bool


def _materials(statement: Statement) -> list[_Checked]:
    if is_chainloop(statement.predicate_type):
        return [
            _Checked(m.name, m.kind, m.address, m.content, m.in_cas)
            for m in read_predicate(statement.predicate, statement.subjects).materials
            if m.address is not None
        ]
    if statement.predicate_type != PREDICATE_TYPE:
        raise VerificationError(
            f"materials check failed: the predicate is {statement.predicate_type!r}, not a "
            "chainproof or Chainloop attestation"
        )
    return [_Checked(m.name, m.kind, m.digest, m.content, m.in_cas) for m in statement.materials]


def chainloop_section(statement: Statement) -> dict[str, Any]:
    """The ``chainloop`` section of a report: a Chainloop predicate in chainproof's words."""
    try:
        return read_predicate(statement.predicate, statement.subjects).to_dict()
    except InvalidInput as err:
        raise VerificationError(f"payload check failed: {err.message}") from None


def _check_material(
    material: _Checked, files: Mapping[str, str], cas: CasFetch | None
) -> dict[str, str]:
    digest = material.digest
    row = {"name": material.name, "digest": str(digest), "kind": material.kind}
    if material.content is not None:
        ok = Digest.of_bytes(material.content) == digest
        row["result"] = "inline value matches" if ok else "inline value does not match"
    elif material.kind in _NOT_FILES:
        row["result"] = "skipped: a registry image, not a file"
    elif digest.algorithm != "sha256":
        row["result"] = "not a sha256 digest"
    elif digest.hex in files:
        row["result"] = f"matches {files[digest.hex]}"
    elif cas is not None and material.in_cas:
        # The download hashes as it goes: a blob whose bytes differ raises VerificationError.
        found = cas(digest)
        row["result"] = "matches the CAS blob" if found else "not in the CAS (or not readable)"
    else:
        row["result"] = "no file with this digest"
    return row


def cas_fetcher(api: ApiClient, scratch: Path) -> CasFetch:
    """A :data:`CasFetch` downloading through the control plane's CAS into ``scratch``."""
    from chainproof.client import cas
    from chainproof.errors import NotFound

    def fetch(digest: Digest) -> bool:
        try:
            grant = api.cas_download_token(str(digest))
            target = cas.download(
                grant["url"], grant["token"], digest, scratch / digest.hex, api=api
            )
        except NotFound:
            return False
        except VerificationError as err:
            raise VerificationError(
                f"materials check failed: the CAS blob {digest} does not match: {err.message}"
            ) from None
        target.unlink()
        return True

    return fetch


def verify_bundle(
    bundle_json: bytes | str,
    *,
    trusted_root: TrustedRoot,
    identity: str | None = None,
    issuer: str | None = None,
    key_pem: bytes | None = None,
    artifact: Artifact | None = None,
    materials_dir: Path | None = None,
    cas: CasFetch | None = None,
    strict_identity: bool = False,
    ca_pems: Sequence[bytes] = (),
    now: datetime | None = None,
) -> dict[str, Any]:
    """Verify a bundle offline; return a report, or raise naming the failed check.

    A DSSE bundle must hold an in-toto statement (``artifact``, when given, must be one of
    its subjects); a message-signature bundle needs ``artifact``. ``identity`` and
    ``issuer`` constrain a certificate's SAN and OIDC issuer (``strict_identity``: at least
    one is required, as for the public-good root); ``key_pem`` verifies a key-signed bundle.
    Raises VerificationError (``<check> check failed: ...``), or InvalidInput for a bad key
    or a missing identity. ``ca_pems``: CA certificates trusted the way Chainloop's verifier
    trusts its CA (``--ca``; :mod:`chainproof.signing.chainloop`). A Chainloop predicate is
    mapped into the report's ``chainloop`` section (docs/verification-outputs.md).
    """
    if len(bundle_json) > MAX_BUNDLE_FILE:
        raise VerificationError("bundle check failed: the bundle is larger than 16 MiB")
    try:
        bundle = Bundle.from_json(bundle_json, allow_message_signature=True)
    except InvalidInput as err:
        raise VerificationError(f"bundle check failed: {err.message}", hint=err.hint) from None
    policy, identity_note = _policy(bundle, identity, issuer, key_pem, strict_identity)
    verifier = Verifier(
        trusted_root=trusted_root,
        public_keys=[key_pem] if key_pem else [],
        ca_certs=ca_pems,
        chainloop=bool(ca_pems),
    )
    report: dict[str, Any] = {"verified": False, "media_type": bundle.media_type}
    if bundle.message_signature is not None:
        if artifact is None:
            raise VerificationError(
                "artifact check failed: this bundle signs an artifact directly; give --artifact"
            )
        result = verifier.verify_artifact(
            bundle, artifact.data if artifact.data is not None else artifact.digest, policy, now=now
        )
        report.update(kind="message_signature", artifact=str(artifact.digest))
        identity_found, issuer_found = result.identity, result.issuer
        checks, times = list(result.checks), result.signed_at
    else:
        verified = verifier.verify(
            bundle, policy, now=now, artifact=artifact.digest if artifact else None
        )
        statement = verified.statement
        report.update(
            kind="dsse",
            predicate_type=statement.predicate_type,
            subjects=[
                {"name": s.get("name"), "digest": s.get("digest")} for s in statement.subjects
            ],
        )
        if artifact is not None:
            report["artifact"] = str(artifact.digest)
        identity_found, issuer_found = verified.identity, verified.issuer
        checks, times = list(verified.checks), verified.signed_at
        if is_chainloop(statement.predicate_type):
            report["chainloop"] = chainloop_section(statement)
        if materials_dir is not None or cas is not None:
            report["materials"] = check_materials(statement, materials_dir, cas)
            checks.append("materials")
        if statement.workflow_run_id:
            report["run_id"] = statement.workflow_run_id
    if ca_pems and not times and bundle.leaf_certificate_der is not None:
        report["time_source"] = "certificate issue time (no timestamp in the bundle)"
    report.update(
        verified=True,
        identity=identity_found,
        issuer=issuer_found,
        identity_policy=identity_note,
        signed_at=[_iso(t) for t in times] or None,
        checks=checks,
    )
    return report
