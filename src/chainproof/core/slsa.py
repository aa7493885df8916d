"""SLSA outputs of a verified run: a Verification Summary Attestation and Provenance v1.

Both are in-toto Statements v1 (in-toto/attestation spec/v1/statement.md) rendered from plain
data, so the control plane and tests build them the same way:

* :func:`render_vsa`: ``https://slsa.dev/verification_summary/v1`` (slsa.dev/spec/v1.0/
  verification_summary): who verified what, against which policy, with what result and at
  which SLSA Build level;
* :func:`render_provenance`: ``https://slsa.dev/provenance/v1`` (slsa.dev/spec/v1.0/
  provenance): ``buildDefinition`` (build type, external and internal parameters, resolved
  dependencies) and ``runDetails`` (builder, metadata, byproducts).

:func:`build_level` is the one place that decides the SLSA Build level chainproof claims
for a run (docs/architecture.md §9, docs/verification-outputs.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chainproof.core.statement import STATEMENT_TYPE, canonical_json

__all__ = [
    "BUILD_TYPE",
    "PROVENANCE_PREDICATE_TYPE",
    "SLSA_VERSION",
    "VSA_PREDICATE_TYPE",
    "RunFacts",
    "build_level",
    "level_name",
    "render_provenance",
    "render_vsa",
]

VSA_PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
PROVENANCE_PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
SLSA_VERSION = "1.0"
#: What a chainproof run is as a SLSA build: a CI job that crafted and pushed an attestation.
BUILD_TYPE = "https://chainproof.dev/slsa/build-types/workflow-run/v1"
_HOSTED = "managed"  # RunnerContext.environment of a CI provider's own runners


def build_level(runner: Mapping[str, Any], *, runner_identity_verified: bool) -> int:
    """The SLSA Build level chainproof can vouch for (docs/architecture.md §9).

    Provenance crafted inside a tenant's CI job is Build L1: the job itself could have
    written anything. L2 needs a hosted runner (``environment`` ``managed``) *and* a runner
    identity the control plane verified itself (e.g. a CI OIDC token), so that the
    provenance is bound to the build platform, not to the tenant's job.
    """
    hosted = runner.get("environment") == _HOSTED
    return 2 if hosted and runner_identity_verified else 1


def level_name(level: int) -> str:
    """The VSA ``verifiedLevels`` entry of a Build level: ``SLSA_BUILD_LEVEL_<n>``."""
    return f"SLSA_BUILD_LEVEL_{level}"


def _rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # naive times are UTC in chainproof
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, kw_only=True)
class RunFacts:
    """What the control plane knows about a run, as the SLSA renderers need it.

    ``run_uri`` names the run (its signing identity, ``chainproof://org/project/wf/runs/id``);
    ``attestation_digest`` is the ``sha256:HEX`` of the stored bundle and
    ``attestation_uri`` where it is served; ``statement`` is the verified chainproof
    statement; ``contract_digest`` the ``sha256:HEX`` of the contract revision's source.
    """

    org: str
    project: str
    workflow: str
    workflow_id: str
    run_id: str
    run_uri: str
    project_version: str | None
    contract_name: str
    contract_revision: int
    contract_digest: str
    runner: Mapping[str, Any]
    started_on: datetime
    finished_on: datetime | None
    attestation_digest: str
    attestation_uri: str
    statement: Mapping[str, Any]
    materials: Sequence[Mapping[str, Any]] = field(default_factory=tuple)

    @property
    def contract_uri(self) -> str:
        """The contract revision the run was checked against, as a URI."""
        return f"chainproof://{self.org}/contracts/{self.contract_name}/revisions/{self.contract_revision}"


def _digest_map(value: str) -> dict[str, str]:
    """``alg:hex`` → ``{alg: hex}`` (an in-toto DigestSet)."""
    alg, _, hexa = value.partition(":")
    return {alg: hexa}


def _attestation_descriptor(facts: RunFacts) -> dict[str, Any]:
    return {
        "name": f"chainproof.attestation.{facts.run_id}",
        "uri": facts.attestation_uri,
        "digest": _digest_map(facts.attestation_digest),
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
    }


def _statement_subjects(facts: RunFacts) -> list[dict[str, Any]]:
    subjects = facts.statement.get("subject") or []
    return [dict(s) for s in subjects if isinstance(s, Mapping)]


def _finish(subjects: list[dict[str, Any]], predicate_type: str, predicate: dict[str, Any]) -> Any:
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": predicate_type,
        "predicate": predicate,
    }
    # Round-trip through canonical JSON: plain, deterministic JSON whatever mappings came in.
    return json.loads(canonical_json(statement))


def render_vsa(
    facts: RunFacts,
    *,
    verifier_id: str,
    verifier_version: str,
    time_verified: datetime,
    passed: bool,
    level: int,
) -> dict[str, Any]:
    """The VSA v1 Statement of a run's verification at push.

    Subjects: the run's attestation (the stored bundle, by digest) and every subject of the
    attested statement, so the summary can be found by either. ``policy`` is the contract
    revision (URI and digest of its source), ``inputAttestations`` the attestation, and
    ``verifiedLevels`` the Build level only when the verification passed (a failed one
    vouches for no level, as the spec's FAILED example shows).
    """
    predicate: dict[str, Any] = {
        "verifier": {"id": verifier_id, "version": {"chainproof": verifier_version}},
        "timeVerified": _rfc3339(time_verified),
        "resourceUri": facts.run_uri,
        "policy": {"uri": facts.contract_uri, "digest": _digest_map(facts.contract_digest)},
        "inputAttestations": [
            {"uri": facts.attestation_uri, "digest": _digest_map(facts.attestation_digest)}
        ],
        "verificationResult": "PASSED" if passed else "FAILED",
        "verifiedLevels": [level_name(level)] if passed else [],
        "slsaVersion": SLSA_VERSION,
    }
    subjects = [_attestation_descriptor(facts), *_statement_subjects(facts)]
    result: dict[str, Any] = _finish(subjects, VSA_PREDICATE_TYPE, predicate)
    return result


def _material_descriptor(item: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": str(item.get("name")),
        "digest": _digest_map(str(item["digest"])),
    }
    if item.get("kind"):
        out["annotations"] = {"chainproof.material.kind": str(item["kind"])}
    return out


def render_provenance(facts: RunFacts, *, builder_version: str) -> dict[str, Any]:
    """The SLSA Provenance v1 Statement of a succeeded run.

    Subjects are the run's output materials; a run with none keeps the attested statement's
    subjects (which always include the ``chainproof.workflow.*`` digest binding the
    evidence). ``resolvedDependencies`` are the input materials, ``byproducts`` the
    attestation itself. The builder is the CI runner (its type, and its run URL when known):
    the control plane only verified what that job signed.
    """
    outputs = [m for m in facts.materials if m.get("output")]
    inputs = [m for m in facts.materials if not m.get("output")]
    subjects = [_material_descriptor(m) for m in outputs] or _statement_subjects(facts)
    runner_type = str(facts.runner.get("type") or "GENERIC")
    external: dict[str, Any] = {
        "workflow": {
            "org": facts.org,
            "project": facts.project,
            "name": facts.workflow,
            "projectVersion": facts.project_version,
        },
        "contract": {
            "name": facts.contract_name,
            "revision": facts.contract_revision,
            "uri": facts.contract_uri,
            "digest": _digest_map(facts.contract_digest),
        },
        "runner": {"type": runner_type, "url": facts.runner.get("url")},
    }
    internal = {
        "workflowID": facts.workflow_id,
        "runID": facts.run_id,
        "runnerEnv": dict(sorted((facts.runner.get("env") or {}).items())),
    }
    predicate = {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": external,
            "internalParameters": internal,
            "resolvedDependencies": [_material_descriptor(m) for m in inputs],
        },
        "runDetails": {
            "builder": {
                "id": _builder_id(runner_type, str(facts.runner.get("environment") or "unknown")),
                "version": {"chainproof": builder_version},
            },
            "metadata": {
                "invocationId": facts.runner.get("url") or facts.run_uri,
                "startedOn": _rfc3339(facts.started_on),
                "finishedOn": _rfc3339(facts.finished_on),
            },
            "byproducts": [_attestation_descriptor(facts)],
        },
    }
    result: dict[str, Any] = _finish(subjects, PROVENANCE_PREDICATE_TYPE, predicate)
    return result


def _builder_id(runner_type: str, environment: str) -> str:
    """The builder: the CI runner by type and hosting (``managed``, ``self-hosted``,
    ``unknown``); the run's own page is the ``invocationId``."""
    return f"https://chainproof.dev/runners/{runner_type}/{environment}"
