"""SLSA renderers and the one rule that picks the Build level (core.slsa)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chainproof.core import slsa
from chainproof.core.statement import Statement


def _facts(**changes: Any) -> slsa.RunFacts:
    values: dict[str, Any] = {
        "org": "acme",
        "project": "shop",
        "workflow": "build",
        "workflow_id": "wf-1",
        "run_id": "run-1",
        "run_uri": "chainproof://acme/shop/build/runs/run-1",
        "project_version": "v1",
        "contract_name": "release",
        "contract_revision": 3,
        "contract_digest": "sha256:" + "c" * 64,
        "runner": {"type": "GENERIC", "url": None, "env": {}},
        "started_on": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "finished_on": datetime(2026, 1, 2, 3, 9, 5, tzinfo=UTC),
        "attestation_digest": "sha256:" + "a" * 64,
        "attestation_uri": "https://cp.example/api/v1/runs/run-1/bundle",
        "statement": {"subject": [{"name": "chainproof.workflow.build", "digest": {"sha1": "d"}}]},
        "materials": [],
    }
    values.update(changes)
    return slsa.RunFacts(**values)


@pytest.mark.parametrize(
    ("environment", "verified", "level"),
    [
        ("managed", True, 2),
        ("managed", False, 1),  # hosted, but nobody checked the runner's identity
        ("self-hosted", True, 1),  # the tenant runs the machine
        ("unknown", False, 1),
    ],
)
def test_build_level(environment: str, verified: bool, level: int) -> None:
    runner = {"type": "GITHUB_ACTION", "environment": environment}
    assert slsa.build_level(runner, runner_identity_verified=verified) == level


def test_failed_vsa_claims_no_level() -> None:
    at = datetime(2026, 1, 2, 3, 10, tzinfo=UTC)
    vsa = slsa.render_vsa(
        _facts(),
        verifier_id="https://cp",
        verifier_version="1",
        time_verified=at,
        passed=False,
        level=1,
    )
    Statement.from_json(vsa)  # a valid in-toto Statement
    assert vsa["predicate"]["verificationResult"] == "FAILED"
    assert vsa["predicate"]["verifiedLevels"] == []
    assert vsa["predicate"]["timeVerified"] == "2026-01-02T03:10:00Z"
    assert vsa["predicate"]["policy"]["uri"] == "chainproof://acme/contracts/release/revisions/3"


def test_provenance_without_outputs_keeps_the_statement_subjects() -> None:
    inputs = [{"name": "sbom", "digest": "sha256:" + "b" * 64, "kind": "SBOM", "output": False}]
    statement = slsa.render_provenance(_facts(materials=inputs), builder_version="1")
    Statement.from_json(statement)
    assert statement["subject"] == [{"name": "chainproof.workflow.build", "digest": {"sha1": "d"}}]
    definition = statement["predicate"]["buildDefinition"]
    assert definition["resolvedDependencies"][0]["digest"] == {"sha256": "b" * 64}
    details = statement["predicate"]["runDetails"]
    # No run page: the run's own URI identifies the invocation.
    assert details["metadata"]["invocationId"] == "chainproof://acme/shop/build/runs/run-1"
    assert details["builder"]["id"] == "https://chainproof.dev/runners/GENERIC/unknown"
