"""ATTESTATION: a signed in-toto attestation, in a Sigstore bundle or a bare DSSE envelope.

Accepted containers (docs/architecture.md §5, "ATTESTATION: DSSE or bundle, Chainloop's included"):

- a Sigstore bundle v0.1, v0.2 or v0.3 in its JSON form (``mediaType``
  ``application/vnd.dev.sigstore.bundle...``) whose content is a ``dsseEnvelope``, parsed by
  :meth:`chainproof.core.bundle.Bundle.from_json`;
- a bare DSSE envelope ``{payloadType, payload, signatures}`` (DSSE envelope.md), parsed by
  :meth:`chainproof.core.dsse.Envelope.from_dict`;
- a JSON Lines file (``*.intoto.jsonl``, as slsa-github-generator writes) holding exactly one
  of the above.

The envelope must carry at least one signature, its ``payloadType`` must be
``application/vnd.in-toto+json``, and its payload must be an in-toto Statement v0.1 or v1
(``_type``), with a non-empty ``subject`` list whose items each have a ``name`` and a
``digest``, and a ``predicateType``. The statement's common checks are those of
:class:`chainproof.core.statement.Statement`; v0.1 statements have the same shape for them.
Any predicate type is accepted, including Chainloop's (``chainloop.dev/attestation/v0.2``,
attestation chaining) and chainproof's own (``https://chainproof.dev/attestation/v1``).

NOTE: ``craft`` does **not verify signatures**. At ``add`` time there is no trust root to
verify against (the certificate's CA, the signer's public key or the transparency log are
the verifier's business, given its trusted root: :mod:`chainproof.signing.verifier`). It
validates structure only: the container, base64, the certificate's X.509 encoding, the
statement. The summary says so (``signatures_verified: false``) and names the certificate's
identity as claimed, not as proven.

The subjects become referrers: ``summary["referrers"]`` lists ``{"name", "digest"}`` with the
subject's sha256 (else sha512, else sha1) digest as ``alg:hex``, so the attested artifacts
point back to this attestation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from chainproof.core import jsonload
from chainproof.core.bundle import MAX_BUNDLE_BYTES, Bundle
from chainproof.core.digest import Digest
from chainproof.core.dsse import Envelope, b64decode
from chainproof.core.materials._common import (
    ANNOTATION_PREFIX,
    existing_file,
    parse_json,
    read_document,
    read_head,
)
from chainproof.core.materials._report import crafted, read_tail, type_name
from chainproof.core.materials.base import CraftedMaterial
from chainproof.core.statement import PAYLOAD_TYPE, PREDICATE_TYPE, STATEMENT_TYPE, Statement
from chainproof.errors import InvalidInput, MaterialError

__all__ = [
    "CHAINLOOP_PREDICATE_TYPES",
    "MAX_REFERRERS",
    "MAX_SUBJECTS",
    "PREDICATE_TYPE_ANNOTATION",
    "STATEMENT_TYPES",
    "AttestationHandler",
    "ParsedAttestation",
    "decode_statement",
    "is_envelope_container",
    "read_attestation",
    "sniff_container",
    "summarise",
]

STATEMENT_TYPE_V01 = "https://in-toto.io/Statement/v0.1"
STATEMENT_TYPES = (STATEMENT_TYPE, STATEMENT_TYPE_V01)
CHAINLOOP_PREDICATE_TYPES = (
    "chainloop.dev/attestation/v0.2",  # what Chainloop writes (renderer/chainloop/v02.go)
    "https://chainloop.dev/attestation/v0.2",
)
PREDICATE_TYPE_ANNOTATION = ANNOTATION_PREFIX + "attestation.predicate_type"
MAX_SUBJECTS = 50
"""Subjects listed in the summary (``subject_count`` has them all)."""
MAX_REFERRERS = 1000
"""Referrers listed in the summary; ``referrers_truncated`` says when there were more."""

_REFERRER_ALGORITHMS = ("sha256", "sha512", "sha1")
_BOM_AND_SPACE = b"\xef\xbb\xbf \t\r\n"
_DSSE_ENVELOPE = re.compile(rb'"dsseEnvelope"\s*:\s*\{')
_BUNDLE_MEDIA_TYPE = re.compile(rb'"mediaType"\s*:\s*"application/vnd\.dev\.sigstore\.bundle')
_PAYLOAD_TYPE = re.compile(rb'"payloadType"\s*:\s*"')
_SIGNATURES = re.compile(rb'"signatures"\s*:\s*\[')
# Fulcio's issuer extensions (github.com/sigstore/fulcio docs/oid-info.md): V2 is a DER
# UTF8String, V1 (deprecated) the raw text.
_FULCIO_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8"
_FULCIO_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1"


# --- sniffing (never raises) ------------------------------------------------------------------


def _loads_first(data: bytes) -> Any:
    """The JSON document ``data`` holds, or the first line of a JSON Lines file; None if
    neither parses."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    try:
        return jsonload.loads(text)
    except ValueError:
        pass
    for line in text.splitlines():
        if line.strip():
            try:
                return jsonload.loads(line)
            except ValueError:
                return None
    return None


def is_envelope_container(doc: Any) -> bool:
    """Whether ``doc`` is shaped like a bundle holding a DSSE envelope (``dsseEnvelope``) or a
    bare DSSE envelope (``payloadType`` and ``signatures``)."""
    if not isinstance(doc, dict):
        return False
    return isinstance(doc.get("dsseEnvelope"), dict) or (
        "payloadType" in doc and "signatures" in doc
    )


def sniff_container(value: str) -> dict[str, Any] | bool:
    """Cheap test for an envelope container file. Never raises.

    Returns the parsed container when the file fits in the sniff window (for JSON Lines, the
    first line), False when it is not one; for a larger file True/False for whether its head
    or tail shows a bundle's ``mediaType`` and ``dsseEnvelope``, or an envelope's
    ``payloadType`` and ``signatures`` (DSSE JSON may put the long payload first).
    """
    got = read_head(value)
    if got is None:
        return False
    head, complete = got
    if not head.lstrip(_BOM_AND_SPACE).startswith(b"{"):
        return False
    if complete:
        doc = _loads_first(head)
        return doc if is_envelope_container(doc) else False
    tail = read_tail(value) or b""

    def seen(pattern: re.Pattern[bytes]) -> bool:
        return bool(pattern.search(head) or pattern.search(tail))

    return (seen(_DSSE_ENVELOPE) and seen(_BUNDLE_MEDIA_TYPE)) or (
        seen(_PAYLOAD_TYPE) and seen(_SIGNATURES)
    )


def decode_statement(container: Mapping[str, Any]) -> dict[str, Any] | None:
    """The in-toto statement inside a parsed container, decoded but not validated; None when
    it is not an in-toto envelope with a JSON object payload. Never raises (for ``accepts``)."""
    envelope = container.get("dsseEnvelope", container)
    if not isinstance(envelope, Mapping) or envelope.get("payloadType") != PAYLOAD_TYPE:
        return None
    try:
        doc = jsonload.loads(b64decode(envelope.get("payload"), "the DSSE payload"))
    except (InvalidInput, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


# --- crafting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedAttestation:
    """A structurally valid attestation file: its container and its statement."""

    path: Path
    digest: Digest
    size: int
    envelope: Envelope
    bundle: Bundle | None
    statement: dict[str, Any]

    @property
    def statement_type(self) -> str:
        """``https://in-toto.io/Statement/v1`` or ``.../v0.1``."""
        return str(self.statement["_type"])

    @property
    def predicate_type(self) -> str:
        """The statement's ``predicateType``."""
        return str(self.statement["predicateType"])

    @property
    def predicate(self) -> dict[str, Any]:
        """The predicate object ({} when absent)."""
        predicate = self.statement.get("predicate")
        return predicate if isinstance(predicate, dict) else {}

    @property
    def subjects(self) -> list[dict[str, Any]]:
        """The statement's subjects (each with a name and a digest)."""
        subjects: list[dict[str, Any]] = self.statement["subject"]
        return subjects


def _invalid(path: Path, label: str, problem: str, hint: str | None = None) -> MaterialError:
    return MaterialError(f"{path.name} is not a valid {label}: {problem}", hint=hint)


def _load_container(path: Path, label: str, text: str) -> Any:
    """The one JSON document of ``text``; a JSON Lines file must hold exactly one."""
    try:
        return jsonload.loads(text)
    except json.JSONDecodeError:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1:
            try:
                first = jsonload.loads(lines[0])
            except ValueError:
                first = None
            if isinstance(first, dict):
                raise MaterialError(
                    f"{path.name} is not a valid {label}: it holds {len(lines)} JSON lines, "
                    "expected one bundle or DSSE envelope",
                    hint="split the file: add each attestation as its own material",
                ) from None
    return parse_json(label, path, text)  # raises with line and column


def _open_container(path: Path, label: str, doc: Any) -> tuple[Envelope, Bundle | None]:
    if not isinstance(doc, dict):
        raise _invalid(
            path,
            label,
            f"the top level is {type_name(doc)}, expected a Sigstore bundle or a DSSE envelope",
        )
    if "mediaType" in doc or "dsseEnvelope" in doc:
        try:
            bundle = Bundle.from_json(doc)
        except InvalidInput as exc:
            raise _invalid(path, label, f"Sigstore bundle: {exc.message}", exc.hint) from exc
        return bundle.envelope, bundle
    if "payloadType" in doc or "payload" in doc or "signatures" in doc:
        try:
            return Envelope.from_dict(doc), None
        except InvalidInput as exc:
            raise _invalid(path, label, f"DSSE envelope: {exc.message}", exc.hint) from exc
    hint = None
    if doc.get("_type") in STATEMENT_TYPES:
        hint = "this is an unsigned in-toto statement: sign it into a DSSE envelope or bundle"
    raise _invalid(
        path,
        label,
        "neither a Sigstore bundle (mediaType, dsseEnvelope) nor a DSSE envelope "
        "(payloadType, payload, signatures)",
        hint,
    )


def _check_certificate(path: Path, label: str, bundle: Bundle) -> None:
    from cryptography import x509

    for index, der in enumerate(bundle.certificate_chain_der):
        try:
            x509.load_der_x509_certificate(der)
        except ValueError as exc:
            raise _invalid(
                path, label, f"Sigstore bundle: certificate {index} is not DER X.509"
            ) from exc


def _statement(path: Path, label: str, envelope: Envelope) -> dict[str, Any]:
    """The validated statement of ``envelope`` (in-toto attestation spec v0.1 / v1)."""
    if not envelope.signatures:
        raise _invalid(path, label, "the DSSE envelope has no signatures")
    if envelope.payload_type != PAYLOAD_TYPE:
        raise _invalid(
            path,
            label,
            f"the DSSE payloadType is {envelope.payload_type!r}, expected {PAYLOAD_TYPE}",
            "only in-toto attestations are accepted",
        )
    try:
        doc = jsonload.loads(envelope.payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _invalid(path, label, f"the DSSE payload is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise _invalid(path, label, f"the DSSE payload is {type_name(doc)}, not a statement")
    statement_type = doc.get("_type")
    if statement_type not in STATEMENT_TYPES:
        raise _invalid(
            path,
            label,
            f"the payload is not an in-toto Statement: _type is {statement_type!r}, "
            f"expected {STATEMENT_TYPE} or {STATEMENT_TYPE_V01}",
        )
    try:
        # v0.1 and v1 agree on what Statement checks (subject digests, predicateType,
        # predicate object), so validate both with the one class.
        checked = Statement({**doc, "_type": STATEMENT_TYPE}).to_dict()
    except InvalidInput as exc:
        raise _invalid(path, label, exc.message) from exc
    for index, subject in enumerate(checked["subject"]):
        name = subject.get("name")
        if not isinstance(name, str) or not name:
            raise _invalid(path, label, f"statement subject {index} has no name")
        for algorithm in _REFERRER_ALGORITHMS:
            if algorithm in subject["digest"]:
                try:
                    Digest(algorithm, subject["digest"][algorithm].lower())
                except InvalidInput:
                    raise _invalid(
                        path, label, f"statement subject {index} has a malformed {algorithm}"
                    ) from None
    checked["_type"] = statement_type
    return checked


def read_attestation(kind: str, label: str, value: str) -> ParsedAttestation:
    """Read the attestation file ``value`` once and validate its structure (not signatures).

    Raises MaterialError naming the file for a missing, empty, oversized or non-JSON file, a
    JSON Lines file of several records, a malformed bundle or envelope, an unsigned envelope,
    another payload type, or a payload that is not an in-toto Statement with named and
    digested subjects.
    """
    path = existing_file(kind, value)
    try:
        too_big = path.stat().st_size > MAX_BUNDLE_BYTES
    except OSError as exc:
        raise MaterialError(f"{kind}: cannot read {value}: {exc.strerror or exc}") from exc
    if too_big:
        raise _invalid(path, label, f"larger than {MAX_BUNDLE_BYTES // (1024 * 1024)} MiB")
    digest, size, text = read_document(kind, path)
    envelope, bundle = _open_container(path, label, _load_container(path, label, text))
    if bundle is not None:
        _check_certificate(path, label, bundle)
    statement = _statement(path, label, envelope)
    return ParsedAttestation(path, digest, size, envelope, bundle, statement)


def _referrers(subjects: list[dict[str, Any]]) -> tuple[list[dict[str, str]], bool]:
    out: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for subject in subjects:
        digests = subject["digest"]
        algorithm = next((a for a in _REFERRER_ALGORITHMS if a in digests), None)
        if algorithm is None:
            continue  # e.g. only gitCommit or dirHash: nothing to index by
        entry = (subject["name"], f"{algorithm}:{digests[algorithm].lower()}")
        if entry in seen:
            continue
        if len(out) == MAX_REFERRERS:
            return out, True
        seen.add(entry)
        out.append({"name": entry[0], "digest": entry[1]})
    return out, False


def _decode_utf8_der(value: bytes) -> str | None:
    """The text of a DER UTF8String (tag 0x0C, X.690 §8.1.3 definite length), else None."""
    if len(value) < 2 or value[0] != 0x0C:
        return None
    length, start = value[1], 2
    if length & 0x80:
        count = length & 0x7F
        length, start = int.from_bytes(value[2 : 2 + count], "big"), 2 + count
    try:
        return value[start : start + length].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _certificate_facts(der: bytes) -> dict[str, str]:
    """The identity (SAN URI or e-mail) and OIDC issuer a signing certificate claims."""
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    facts: dict[str, str] = {}
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    if san is not None:
        names = san.get_values_for_type(x509.UniformResourceIdentifier) or [
            *san.get_values_for_type(x509.RFC822Name)
        ]
        if names:
            facts["identity"] = names[0]
    for extension in cert.extensions:
        oid = extension.oid.dotted_string
        if oid not in (_FULCIO_ISSUER_V2, _FULCIO_ISSUER_V1):
            continue
        raw = getattr(extension.value, "value", b"")
        issuer = (
            _decode_utf8_der(raw)
            if oid == _FULCIO_ISSUER_V2
            else raw.decode("utf-8", errors="replace")
        )
        if issuer and (oid == _FULCIO_ISSUER_V2 or "issuer" not in facts):
            facts["issuer"] = issuer
    return facts


def _text(obj: Any, *keys: str) -> str | None:
    """The non-empty string at ``obj[k1][k2]...``, else None."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj if isinstance(obj, str) and obj else None


def _workflow(predicate_type: str, predicate: dict[str, Any]) -> dict[str, str]:
    """Workflow facts of a Chainloop (v0.2) or chainproof predicate; {} for other predicates."""
    if predicate_type == PREDICATE_TYPE:
        facts = {
            "name": _text(predicate, "workflow", "name"),
            "project": _text(predicate, "workflow", "project"),
            "org": _text(predicate, "workflow", "org"),
            "run_id": _text(predicate, "workflow", "runID"),
            "runner_type": _text(predicate, "runner", "type"),
        }
    elif predicate_type in CHAINLOOP_PREDICATE_TYPES:
        facts = {
            "name": _text(predicate, "metadata", "name"),
            "project": _text(predicate, "metadata", "project"),
            "org": _text(predicate, "metadata", "organization"),
            "run_id": _text(predicate, "metadata", "workflowRunID"),
            "runner_type": _text(predicate, "runnerType"),
        }
    else:
        return {}
    return {key: value for key, value in facts.items() if value is not None}


def summarise(parsed: ParsedAttestation) -> dict[str, Any]:
    """The summary every attestation kind shares (see the module docstring)."""
    subjects = parsed.subjects
    referrers, truncated = _referrers(subjects)
    summary: dict[str, Any] = {
        "bundle": parsed.bundle is not None,
        "payload_type": parsed.envelope.payload_type,
        "statement_type": parsed.statement_type,
        "predicate_type": parsed.predicate_type,
        "signatures": len(parsed.envelope.signatures),
        "signatures_verified": False,
        "subject_count": len(subjects),
        "subjects": [
            {"name": s["name"], "digest": dict(s["digest"])} for s in subjects[:MAX_SUBJECTS]
        ],
        "referrers": referrers,
    }
    if truncated:
        summary["referrers_truncated"] = True
    bundle = parsed.bundle
    if bundle is not None:
        summary["media_type"] = bundle.media_type
        leaf = bundle.leaf_certificate_der
        if leaf is not None:
            summary["verification_material"] = "certificate"
            summary["certificate"] = _certificate_facts(leaf)
        else:
            summary["verification_material"] = "public_key"
            summary["public_key_hint"] = bundle.public_key_hint
        summary["tlog_entries"] = len(bundle.tlog_entries)
        summary["rfc3161_timestamps"] = len(bundle.rfc3161_timestamps)
    workflow = _workflow(parsed.predicate_type, parsed.predicate)
    if workflow:
        summary["workflow"] = workflow
    return summary


class AttestationHandler:
    """Validates the structure of a signed in-toto attestation; does not verify signatures."""

    kind: ClassVar[str] = "ATTESTATION"
    label: ClassVar[str] = "in-toto attestation"

    def accepts(self, value: str) -> bool:
        """A JSON file (or one-line JSON Lines file) holding a bundle with a ``dsseEnvelope``
        or a DSSE envelope with ``payloadType`` and ``signatures``, whatever its predicate."""
        return sniff_container(value) is not False

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError naming the file and the problem (see :func:`read_attestation`).

        Signatures are not verified: there is no trust root at ``add`` time.
        """
        parsed = read_attestation(self.kind, self.label, value)
        return crafted(
            self.kind,
            name,
            parsed.path,
            parsed.digest,
            parsed.size,
            summarise(parsed),
            {PREDICATE_TYPE_ANNOTATION: parsed.predicate_type},
        )
