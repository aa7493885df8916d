"""PolicyLoader's hooks for organisation-stored documents: ``named`` and ``pinned``."""

from __future__ import annotations

import hashlib

import pytest

from chainproof.errors import PolicyError
from chainproof.policy import PolicyLoader
from chainproof.policy.loader import parse_stored

DOC = """\
apiVersion: chainloop.dev/v1
kind: Policy
metadata: {{name: {name}, description: {description}}}
spec:
  policies:
    - kind: EVIDENCE
      embedded: |
        package p
        import rego.v1
        violations contains "x" if {{ false }}
"""


def _doc(name: str, description: str) -> bytes:
    return DOC.format(name=name, description=description).encode()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


V1, V2 = _doc("team-check", "first"), _doc("team-check", "second")
STORE = {"team-check": [V1, V2]}


def named(name: str) -> tuple[bytes, str] | None:
    revisions = STORE.get(name)
    if not revisions:
        return None
    return revisions[-1], f"chainproof://acme/policies/{name}/revisions/{len(revisions)}"


def pinned(name: str, digest: str) -> tuple[bytes, str] | None:
    for number, data in enumerate(STORE.get(name, []), start=1):
        if _sha(data) == digest:
            return data, f"chainproof://acme/policies/{name}/revisions/{number}"
    return None


def test_a_bare_name_reads_the_stored_document_before_the_builtins() -> None:
    loader = PolicyLoader(named=named)
    for ref in ("team-check", "chainloop://team-check", "chainproof://team-check"):
        policy, reference = loader.load(ref)
        assert policy.description == "second" and policy.digest == _sha(V2)
        assert reference.uri == "chainproof://acme/policies/team-check/revisions/2"
    # Names the organisation does not store are the built-in library's, as before.
    assert loader.load("sbom-ntia")[1].uri == "chainproof://builtin/sbom-ntia"
    with pytest.raises(PolicyError, match="unknown policy 'nope'"):
        loader.load("nope")


def test_a_pin_finds_the_older_revision_that_has_the_digest() -> None:
    loader = PolicyLoader(named=named, pinned=pinned)
    policy, reference = loader.load(f"team-check@sha256:{_sha(V1)}")
    assert policy.description == "first"
    assert reference.uri == "chainproof://acme/policies/team-check/revisions/1"
    assert loader.load(f"chainloop://team-check@sha256:{_sha(V2).upper()}")[0].description == (
        "second"
    )
    with pytest.raises(PolicyError, match="not the pinned sha256:0000"):
        loader.load("team-check@sha256:" + "0" * 64)


def test_without_a_pinned_hook_a_pin_is_checked_against_the_latest() -> None:
    loader = PolicyLoader(named=named)
    with pytest.raises(PolicyError, match=f"has digest sha256:{_sha(V2)}, not the pinned"):
        loader.load(f"team-check@sha256:{_sha(V1)}")
    assert loader.load(f"team-check@sha256:{_sha(V2)}")[0].description == "second"


def test_stored_documents_may_not_read_scripts() -> None:
    script = b"""\
apiVersion: chainloop.dev/v1
kind: Policy
metadata: {name: reads-disk}
spec:
  policies:
    - {kind: EVIDENCE, path: /etc/hostname}
"""
    loader = PolicyLoader(named=lambda name: (script, f"chainproof://acme/policies/{name}"))
    expected = r"reads-disk:6: spec.policies\[0\].path: a stored policy cannot read the Rego"
    with pytest.raises(PolicyError, match=expected):
        loader.load("reads-disk")


def test_a_stored_group_may_not_point_at_files() -> None:
    group = b"""\
apiVersion: chainloop.dev/v1
kind: PolicyGroup
metadata: {name: team}
spec:
  policies:
    attestation: [{ref: "file://local.yaml"}]
"""
    with pytest.raises(PolicyError, match=r"refers to file://local\.yaml, which a stored group"):
        parse_stored(group, source="team.yaml")
    assert parse_stored(group.replace(b"file://local.yaml", b"runner-ci"), source="t").name == (
        "team"
    )
