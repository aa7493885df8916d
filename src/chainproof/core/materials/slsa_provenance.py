"""SLSA_PROVENANCE: a signed in-toto attestation whose predicate is SLSA Provenance v1 or v0.2.

The containers and the statement are read and validated exactly as for ATTESTATION
(:func:`chainproof.core.materials.attestation.read_attestation`: a Sigstore bundle v0.1-v0.3,
a bare DSSE envelope, or a one-record ``.intoto.jsonl``); like it, ``craft`` does **not
verify signatures** (no trust root at ``add`` time), it validates structure.

The predicate type must be ``https://slsa.dev/provenance/v1`` or
``https://slsa.dev/provenance/v0.2``. SLSA publishes its provenance formats as CUE and
protobuf definitions, not JSON Schema, and the one PyPI binding (in-toto-attestation) reads
only v1 statements through protobuf; so the fields the specifications mark REQUIRED are
checked here by hand (https://slsa.dev/spec/v1.0/provenance, https://slsa.dev/provenance/v0.2):

- v1: ``buildDefinition`` with ``buildType`` and an ``externalParameters`` object, and
  ``runDetails.builder.id``;
- v0.2: ``builder.id`` and ``buildType``; ``invocation`` and ``metadata`` are objects when given.

The summary adds to ATTESTATION's: ``slsa_version``, ``builder_id``, ``build_type``,
``invocation_id`` and the ``source`` repository/ref/commit/entry point when the predicate
names them (GitHub's ``externalParameters.workflow``, v0.2's ``invocation.configSource``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from chainproof.core.materials._common import ANNOTATION_PREFIX
from chainproof.core.materials._report import crafted
from chainproof.core.materials.attestation import (
    PREDICATE_TYPE_ANNOTATION,
    ParsedAttestation,
    decode_statement,
    read_attestation,
    sniff_container,
    summarise,
)
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

__all__ = ["BUILDER_ID_ANNOTATION", "SLSA_PREDICATE_TYPES", "SlsaProvenanceHandler"]

SLSA_V1 = "https://slsa.dev/provenance/v1"
SLSA_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_PREDICATE_TYPES = {SLSA_V1: "v1", SLSA_V02: "v0.2"}
BUILDER_ID_ANNOTATION = ANNOTATION_PREFIX + "slsa.builder_id"

# Where builders name their source in v1 ``externalParameters`` (GitHub and
# slsa-github-generator: ``workflow``; Google Cloud Build: ``buildConfigSource``; others:
# ``source``), and the keys that hold a repository or a ref there.
_SOURCE_PARAMETERS = ("workflow", "buildConfigSource", "source", "configSource")
_REPOSITORY_KEYS = ("repository", "uri", "url")
_REF_KEYS = ("ref", "revision")
_COMMIT_ALGORITHMS = ("gitCommit", "sha1")


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _text(obj: Any, *keys: str) -> str | None:
    found = _get(obj, *keys)
    return found if isinstance(found, str) and found else None


def _split_uri(uri: str) -> dict[str, str]:
    """``git+https://host/repo@refs/heads/main`` -> repository and ref (SLSA's
    configSource/resolvedDependencies form). An ``@`` in a URI's userinfo is not a ref."""
    left, at, right = uri.rpartition("@")
    if at and right and "/" in left.partition("://")[2]:
        return {"repository": left, "ref": right}
    return {"repository": uri}


def _same_repository(a: str, b: str) -> bool:
    def plain(uri: str) -> str:
        return uri.removeprefix("git+").removesuffix(".git")

    return plain(a) == plain(b)


def _commit(digest: Any) -> str | None:
    return next((_text(digest, a) for a in _COMMIT_ALGORITHMS if _text(digest, a)), None)


def _source_v1(predicate: dict[str, Any]) -> dict[str, str]:
    external = _get(predicate, "buildDefinition", "externalParameters")
    source: dict[str, str] = {}
    for key in _SOURCE_PARAMETERS:
        found = _get(external, key)
        if isinstance(found, str) and found:
            source = _split_uri(found)
        elif isinstance(found, dict):
            repository = next((_text(found, k) for k in _REPOSITORY_KEYS if _text(found, k)), None)
            if repository is None:
                continue
            source = _split_uri(repository)
            ref = next((_text(found, k) for k in _REF_KEYS if _text(found, k)), None)
            if ref is not None:
                source["ref"] = ref
            if _text(found, "path"):
                source["entry_point"] = str(found["path"])
        if source:
            break
    # The checked-out commit: the resolved dependency that is the source repository.
    dependencies = _get(predicate, "buildDefinition", "resolvedDependencies")
    for dependency in dependencies if isinstance(dependencies, list) else []:
        uri = _text(dependency, "uri")
        commit = _commit(_get(dependency, "digest"))
        if not (uri and commit and uri.startswith("git+")):
            continue
        found = _split_uri(uri)
        if not source:
            source = found
        elif not _same_repository(found["repository"], source["repository"]):
            continue
        source["commit"] = commit
        break
    return source


def _source_v02(predicate: dict[str, Any]) -> dict[str, str]:
    config = _get(predicate, "invocation", "configSource")
    uri = _text(config, "uri")
    if uri is None:
        return {}
    source = _split_uri(uri)
    commit = _commit(_get(config, "digest"))
    if commit:
        source["commit"] = commit
    entry_point = _text(config, "entryPoint")
    if entry_point:
        source["entry_point"] = entry_point
    return source


class SlsaProvenanceHandler:
    """Validates signed SLSA provenance (v1 or v0.2) and summarises builder and source."""

    kind: ClassVar[str] = "SLSA_PROVENANCE"
    label: ClassVar[str] = "SLSA provenance attestation"

    def accepts(self, value: str) -> bool:
        """An envelope container whose decoded statement has a SLSA predicate type. The
        predicate type is inside the base64 payload, so only files that fit the sniff window
        are recognised; give --kind SLSA_PROVENANCE for larger ones."""
        container = sniff_container(value)
        if not isinstance(container, dict):
            return False
        statement = decode_statement(container)
        return statement is not None and statement.get("predicateType") in SLSA_PREDICATE_TYPES

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for everything ATTESTATION rejects, for another predicate type
        (naming it, and suggesting ATTESTATION), and for a predicate missing a REQUIRED field.

        Signatures are not verified: there is no trust root at ``add`` time.
        """
        parsed = read_attestation(self.kind, self.label, value)
        version = SLSA_PREDICATE_TYPES.get(parsed.predicate_type)
        if version is None:
            raise MaterialError(
                f"{parsed.path.name} is not SLSA provenance: its predicateType is "
                f"{parsed.predicate_type!r}, expected {SLSA_V1} or {SLSA_V02}",
                hint="add other in-toto attestations with --kind ATTESTATION",
            )
        facts = self._check_v1(parsed) if version == "v1" else self._check_v02(parsed)
        summary: dict[str, Any] = {**summarise(parsed), "slsa_version": version, **facts}
        annotations = {
            PREDICATE_TYPE_ANNOTATION: parsed.predicate_type,
            BUILDER_ID_ANNOTATION: facts["builder_id"],
        }
        return crafted(
            self.kind, name, parsed.path, parsed.digest, parsed.size, summary, annotations
        )

    def _missing(self, parsed: ParsedAttestation, where: str, what: str) -> MaterialError:
        version = SLSA_PREDICATE_TYPES[parsed.predicate_type]
        return MaterialError(
            f"{parsed.path.name} is not valid SLSA provenance {version}: predicate.{where} {what}",
        )

    def _require(self, parsed: ParsedAttestation, *keys: str, expected: type = str) -> Any:
        found = _get(parsed.predicate, *keys)
        where = ".".join(keys)
        if found is None:
            raise self._missing(parsed, where, "is missing")
        if expected is str and (not isinstance(found, str) or not found):
            raise self._missing(parsed, where, "is not a non-empty string")
        if expected is dict and not isinstance(found, dict):
            raise self._missing(parsed, where, "is not an object")
        return found

    def _check_v1(self, parsed: ParsedAttestation) -> dict[str, Any]:
        build_type = self._require(parsed, "buildDefinition", "buildType")
        self._require(parsed, "buildDefinition", "externalParameters", expected=dict)
        builder_id = self._require(parsed, "runDetails", "builder", "id")
        facts: dict[str, Any] = {"builder_id": builder_id, "build_type": build_type}
        invocation = _text(parsed.predicate, "runDetails", "metadata", "invocationId")
        if invocation:
            facts["invocation_id"] = invocation
        source = _source_v1(parsed.predicate)
        if source:
            facts["source"] = source
        return facts

    def _check_v02(self, parsed: ParsedAttestation) -> dict[str, Any]:
        builder_id = self._require(parsed, "builder", "id")
        build_type = self._require(parsed, "buildType")
        for key in ("invocation", "metadata"):
            if key in parsed.predicate and not isinstance(parsed.predicate[key], dict):
                raise self._missing(parsed, key, "is not an object")
        facts: dict[str, Any] = {"builder_id": builder_id, "build_type": build_type}
        invocation = _text(parsed.predicate, "metadata", "buildInvocationId")
        if invocation:
            facts["invocation_id"] = invocation
        source = _source_v02(parsed.predicate)
        if source:
            facts["source"] = source
        return facts
