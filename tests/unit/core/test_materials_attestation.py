"""ATTESTATION and SLSA_PROVENANCE evidence kinds.

The valid files are made by chainproof's own signers, as real runs make them: a chainproof
run's statement (rendered from a crafting state) in a v0.3 bundle whose certificate the
organisation CA issued to an EphemeralSigner; a v0.1 bundle carrying a certificate chain; a
bare DSSE envelope of a Chainloop-style statement (v0.1, ``chainloop.dev/attestation/v0.2``);
a GitHub-style SLSA v1 bundle (actions/attest-build-provenance shape: Fulcio-like certificate
for the workflow, a Rekor-shaped tlog entry); a slsa-github-generator-style ``.intoto.jsonl``
(Statement v0.1, provenance v0.2). The stored key-signed bundle of tests/assets/signing is
read as is. Files are written to a temporary directory per test module.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from chainproof.core.bundle import Bundle
from chainproof.core.contract import Contract, MaterialSpec
from chainproof.core.crafting import CraftingState
from chainproof.core.digest import Digest
from chainproof.core.dsse import Envelope, Signature, b64encode, pae
from chainproof.core.materials.attestation import AttestationHandler
from chainproof.core.materials.base import CraftedMaterial, MaterialHandler
from chainproof.core.materials.evidence import EvidenceHandler
from chainproof.core.materials.sarif import SarifHandler
from chainproof.core.materials.sbom_cyclonedx_json import CycloneDXJsonHandler
from chainproof.core.materials.sbom_spdx_json import SpdxJsonHandler
from chainproof.core.materials.slsa_provenance import SlsaProvenanceHandler
from chainproof.core.runners.base import RunnerContext
from chainproof.core.statement import render_statement
from chainproof.errors import MaterialError, VerificationError
from chainproof.signing.ca import CertificateAuthority, identity_uri
from chainproof.signing.signer import EphemeralSigner, KeySigner
from chainproof.signing.verifier import UnsafeNoIdentityCheck, Verifier

ASSETS = Path(__file__).parents[2] / "assets"
MATERIALS = ASSETS / "materials"
KEY_SIGNED = ASSETS / "signing" / "key-signed.bundle.json"
ATTESTATION = AttestationHandler()
SLSA = SlsaProvenanceHandler()
HANDLERS: tuple[MaterialHandler, ...] = (SLSA, ATTESTATION)

IN_TOTO = "application/vnd.in-toto+json"
V1 = "https://in-toto.io/Statement/v1"
V01 = "https://in-toto.io/Statement/v0.1"
BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
BUNDLE_V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
IMAGE = "a1" * 32
BINARY = "b2" * 32
COMMIT = "c3" * 20
WHEEL = "d4" * 32
SDIST = "e5" * 32
REPO = "https://github.com/acme/shop"
WORKFLOW_ID = f"{REPO}/.github/workflows/release.yml@refs/tags/v1.4.0"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
EC_KEY = ec.generate_private_key(ec.SECP256R1())


# --- building the files ----------------------------------------------------------------------


def chainproof_statement() -> dict[str, Any]:
    """A chainproof run's statement, rendered as ``push`` renders it."""
    contract = Contract(
        name="release",
        materials=(
            MaterialSpec("image", "CONTAINER_IMAGE", output=True),
            MaterialSpec("binary", "ARTIFACT", output=True),
        ),
    )
    state = CraftingState(
        server_url="http://cp",
        org="acme",
        run_id="run-42",
        workflow={"id": "wf-1", "name": "build", "project": "shop", "project_version": "v1.4.0"},
        contract_name="release",
        contract_revision=2,
        contract=contract,
        runner=RunnerContext(type="GITHUB_ACTION", url="https://ci/run/42", env={}),
        started_on=datetime(2026, 11, 25, 7, 0, tzinfo=UTC),
        git={"commit": COMMIT, "branch": "main"},
    )
    state.add_material(
        CraftedMaterial(
            name="image",
            kind="CONTAINER_IMAGE",
            digest=Digest("sha256", IMAGE),
            size=0,
            filename="ghcr.io/acme/shop",
        )
    )
    state.add_material(
        CraftedMaterial(
            name="binary",
            kind="ARTIFACT",
            digest=Digest("sha256", BINARY),
            size=42,
            filename="shop.tar.gz",
            upload_path=Path("/tmp/shop.tar.gz"),
        )
    )
    return render_statement(
        state, finished_on=datetime(2026, 11, 25, 7, 5, tzinfo=UTC), cli_version="0.1.0"
    )


def chainloop_statement() -> dict[str, Any]:
    """A Chainloop attestation statement (renderer/chainloop v0.2 shape)."""
    return {
        "_type": V01,
        "predicateType": "chainloop.dev/attestation/v0.2",
        "subject": [
            {"name": "chainloop.workflow.deploy", "digest": {"sha256": "07" * 32}},
            {"name": "index.docker.io/acme/api", "digest": {"sha256": IMAGE}},
        ],
        "predicate": {
            "metadata": {
                "name": "deploy",
                "project": "api",
                "organization": "acme",
                "team": "",
                "initializedAt": "2026-11-20T11:51:40.277567484Z",
                "finishedAt": "2026-11-20T11:52:14.337768087Z",
                "workflowRunID": "003c6d4f-1907-45a7-a596-57c38ef1fdc3",
                "workflowID": "f2fb5338-f79b-44b8-9a61-616f510c019b",
            },
            "builder": {"id": "chainloop.dev/cli/1.20.0@sha256:" + "58" * 32},
            "buildType": "chainloop.dev/workflowrun/v0.1",
            "runnerType": "GITLAB_PIPELINE",
            "materials": [
                {
                    "name": "index.docker.io/acme/api",
                    "digest": {"sha256": IMAGE},
                    "annotations": {
                        "chainloop.material.name": "image",
                        "chainloop.material.type": "CONTAINER_IMAGE",
                    },
                }
            ],
        },
    }


def github_provenance_statement() -> dict[str, Any]:
    """SLSA v1 provenance as actions/attest-build-provenance writes it."""
    return {
        "_type": V1,
        "subject": [
            {"name": "shop-1.4.0-py3-none-any.whl", "digest": {"sha256": WHEEL}},
            {"name": "shop-1.4.0.tar.gz", "digest": {"sha256": SDIST}},
        ],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {
                    "workflow": {
                        "ref": "refs/tags/v1.4.0",
                        "repository": REPO,
                        "path": ".github/workflows/release.yml",
                    }
                },
                "internalParameters": {
                    "github": {
                        "event_name": "push",
                        "repository_id": "706523189",
                        "repository_owner_id": "95012645",
                        "runner_environment": "github-hosted",
                    }
                },
                "resolvedDependencies": [
                    {"uri": f"git+{REPO}@refs/tags/v1.4.0", "digest": {"gitCommit": COMMIT}}
                ],
            },
            "runDetails": {
                "builder": {"id": "https://github.com/actions/runner/github-hosted"},
                "metadata": {"invocationId": f"{REPO}/actions/runs/11823/attempts/1"},
            },
        },
    }


def generator_provenance_statement() -> dict[str, Any]:
    """SLSA v0.2 provenance in a v0.1 statement, as slsa-github-generator writes it."""
    return {
        "_type": V01,
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [{"name": "shop-linux-amd64", "digest": {"sha256": BINARY}}],
        "predicate": {
            "builder": {
                "id": "https://github.com/slsa-framework/slsa-github-generator/.github/"
                "workflows/builder_go_slsa3.yml@refs/tags/v1.9.0"
            },
            "buildType": "https://github.com/slsa-framework/slsa-github-generator/go@v1",
            "invocation": {
                "configSource": {
                    "uri": f"git+{REPO}@refs/heads/main",
                    "digest": {"sha1": COMMIT},
                    "entryPoint": ".github/workflows/go-release.yml",
                },
                "parameters": {},
                "environment": {"github_event_name": "push", "github_run_id": "11823"},
            },
            "buildConfig": {"version": 1, "steps": [{"command": ["go", "build"]}]},
            "metadata": {
                "buildInvocationID": "11823-1",
                "completeness": {"parameters": True, "environment": False, "materials": False},
                "reproducible": False,
            },
            "materials": [{"uri": f"git+{REPO}@refs/heads/main", "digest": {"sha1": COMMIT}}],
        },
    }


def signed_envelope(statement: Any, payload_type: str = IN_TOTO) -> dict[str, Any]:
    """A DSSE envelope (JSON form) whose ECDSA signature covers PAE(type, payload)."""
    payload = statement if isinstance(statement, bytes) else json.dumps(statement).encode()
    sig = EC_KEY.sign(pae(payload_type, payload), ec.ECDSA(hashes.SHA256()))
    return Envelope(payload, payload_type, (Signature(sig),)).to_dict()


def keyless_bundle(
    ca: CertificateAuthority,
    statement: dict[str, Any],
    *,
    identity: str,
    issuer: str = "https://chainproof.local",
    media_type: str = BUNDLE_V03,
    with_tlog_entry: bool = False,
) -> Bundle:
    """``statement`` signed by an EphemeralSigner whose certificate ``ca`` issued.

    v0.3 bundles carry the leaf only; older ones the chain (leaf, CA).
    """
    signer = EphemeralSigner()
    chain = ca.issue(signer.csr(identity), identity_uri=identity, issuer=issuer)
    signed = signer.sign(statement, chain)
    if media_type == BUNDLE_V03 and not with_tlog_entry:
        return signed
    ders = [
        x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
        for pem in chain
    ]
    return Bundle(
        envelope=signed.envelope,
        certificate_chain_der=ders[:1] if media_type == BUNDLE_V03 else ders,
        tlog_entries=[rekor_entry(signed.envelope)] if with_tlog_entry else [],
        media_type=media_type,
    )


def rekor_entry(envelope: Envelope) -> dict[str, Any]:
    """A transparency-log entry in the shape Rekor returns for a dsse 0.0.1 entry."""
    body = {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "payloadHash": {
                "algorithm": "sha256",
                "value": hashlib.sha256(envelope.payload).hexdigest(),
            }
        },
    }
    return {
        "logIndex": "148213311",
        "logId": {"keyId": "wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0="},
        "kindVersion": {"kind": "dsse", "version": "0.0.1"},
        "integratedTime": "1732518300",
        "inclusionPromise": {"signedEntryTimestamp": b64encode(b"\x30" * 70)},
        "inclusionProof": {
            "logIndex": "26308049",
            "rootHash": b64encode(b"\x01" * 32),
            "treeSize": "26308050",
            "hashes": [b64encode(b"\x02" * 32)],
            "checkpoint": {"envelope": "rekor.sigstore.dev - 1193050959916656506\n26308050\n"},
        },
        "canonicalizedBody": b64encode(json.dumps(body).encode()),
    }


def statement_with_subjects(count: int) -> dict[str, Any]:
    return {
        "_type": V1,
        "subject": [
            {"name": f"dist/file-{i:04d}.tar.gz", "digest": {"sha256": f"{i:064x}"}}
            for i in range(count)
        ],
        "predicateType": "https://example.com/test-result/v1",
        "predicate": {"result": "PASSED"},
    }


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create("acme")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, ca: CertificateAuthority) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("attestations")
    out: dict[str, Path] = {}

    def put(name: str, content: str | bytes | Bundle) -> None:
        path = root / name
        if isinstance(content, Bundle):
            content = content.to_json()
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
        out[name] = path

    run_uri = identity_uri("acme", "shop", "build", "run-42")
    put("chainproof.sigstore.json", keyless_bundle(ca, chainproof_statement(), identity=run_uri))
    put(
        "chainproof-v0.1.sigstore.json",
        keyless_bundle(ca, chainproof_statement(), identity=run_uri, media_type=BUNDLE_V01),
    )
    put("key-signed.sigstore.json", KEY_SIGNED.read_bytes())
    put("chainloop.envelope.json", json.dumps(signed_envelope(chainloop_statement()), indent=3))
    github = keyless_bundle(
        ca,
        github_provenance_statement(),
        identity=WORKFLOW_ID,
        issuer=GITHUB_ISSUER,
        with_tlog_entry=True,
    )
    put("github-provenance.sigstore.json", json.dumps(github.to_dict(), indent=2))
    signer = KeySigner(ed25519.Ed25519PrivateKey.generate())
    generator = signer.sign(generator_provenance_statement()).envelope
    put("provenance-v0.2.intoto.jsonl", generator.to_json() + "\n")
    return out


# --- helpers ---------------------------------------------------------------------------------


def craft(handler: MaterialHandler, path: Path) -> CraftedMaterial:
    material = handler.craft("att", str(path))
    assert material.kind == handler.kind
    assert str(material.digest) == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert material.size == path.stat().st_size
    assert material.filename == path.name
    assert material.upload_path == path.absolute()
    json.dumps(material.to_dict())  # the summary is JSON
    return material


def error(handler: MaterialHandler, path: Path | str) -> MaterialError:
    with pytest.raises(MaterialError) as info:
        handler.craft("att", str(path))
    return info.value


def write(tmp_path: Path, name: str, content: str | dict[str, Any] | list[Any]) -> Path:
    path = tmp_path / name
    text = content if isinstance(content, str) else json.dumps(content)
    path.write_text(text, encoding="utf-8")
    return path


def subjects_of(statement: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": s["name"], "digest": s["digest"]} for s in statement["subject"]]


def referrers_of(statement: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for s in statement["subject"]:
        alg = "sha256" if "sha256" in s["digest"] else "sha1"
        out.append({"name": s["name"], "digest": f"{alg}:{s['digest'][alg]}"})
    return out


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        ("chainproof.sigstore.json", ["ATTESTATION"]),
        ("chainproof-v0.1.sigstore.json", ["ATTESTATION"]),
        ("key-signed.sigstore.json", ["ATTESTATION"]),
        ("chainloop.envelope.json", ["ATTESTATION"]),
        ("github-provenance.sigstore.json", ["SLSA_PROVENANCE", "ATTESTATION"]),
        ("provenance-v0.2.intoto.jsonl", ["SLSA_PROVENANCE", "ATTESTATION"]),
    ],
)
def test_each_file_is_accepted_by_its_kinds(
    files: dict[str, Path], name: str, accepted: list[str]
) -> None:
    assert [h.kind for h in HANDLERS if h.accepts(str(files[name]))] == accepted


@pytest.mark.parametrize(
    "handler", [CycloneDXJsonHandler(), SpdxJsonHandler(), SarifHandler(), EvidenceHandler()]
)
def test_other_json_kinds_do_not_take_attestations(
    files: dict[str, Path], handler: MaterialHandler
) -> None:
    assert [n for n, p in files.items() if handler.accepts(str(p))] == []


@pytest.mark.parametrize(
    "value",
    [
        str(MATERIALS / "cyclonedx-1.6.json"),
        str(MATERIALS / "spdx-2.3.json"),
        str(MATERIALS / "evidence.json"),
        str(MATERIALS / "not-json.csv"),
        str(MATERIALS / "empty.json"),
        str(MATERIALS / "reports" / "sarif-ruff.sarif"),
        str(MATERIALS / "missing.json"),
        str(MATERIALS),
        "",
        "sha256:" + "0" * 64,
    ],
)
def test_other_values_are_not_accepted(value: str) -> None:
    assert [h.kind for h in HANDLERS if h.accepts(value)] == []


def test_an_unsigned_statement_is_not_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "statement.json", github_provenance_statement())
    assert [h.kind for h in HANDLERS if h.accepts(str(path))] == []


def test_a_broken_envelope_is_still_detected_so_craft_can_say_why(tmp_path: Path) -> None:
    doc = signed_envelope(b"not json", payload_type="text/plain")
    path = write(tmp_path, "e.json", doc)
    assert ATTESTATION.accepts(str(path))
    assert not SLSA.accepts(str(path))


def test_large_files_detected_from_head_and_tail_but_not_as_slsa(tmp_path: Path) -> None:
    statement = statement_with_subjects(700)
    # Sorted keys put the long payload first: payloadType and signatures are in the tail.
    envelope = Envelope.from_dict(signed_envelope(statement)).to_json()
    assert len(envelope) > 65536 and envelope.startswith('{"payload":')
    big_envelope = write(tmp_path, "big.dsse.json", envelope)
    assert ATTESTATION.accepts(str(big_envelope))
    provenance = github_provenance_statement()
    provenance["subject"] = statement["subject"]
    bundle = {
        "mediaType": BUNDLE_V03,
        "verificationMaterial": {"publicKey": {"hint": "k"}},
        "dsseEnvelope": signed_envelope(provenance),
    }
    big_bundle = write(tmp_path, "big.sigstore.json", bundle)
    assert ATTESTATION.accepts(str(big_bundle))
    assert not SLSA.accepts(str(big_bundle))  # the predicate type is inside the payload
    assert SLSA.craft("p", str(big_bundle)).summary["subject_count"] == 700


def test_a_large_json_document_of_another_kind_is_not_taken(tmp_path: Path) -> None:
    doc = json.loads((MATERIALS / "cyclonedx-1.6.json").read_text())
    doc["metadata"]["properties"] = [{"name": "pad", "value": "x" * 70_000}]
    path = write(tmp_path, "big-sbom.json", doc)
    assert [h.kind for h in HANDLERS if h.accepts(str(path))] == []


# --- ATTESTATION: valid files ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "chainproof.sigstore.json",
        "chainproof-v0.1.sigstore.json",
        "github-provenance.sigstore.json",
    ],
)
def test_keyless_files_are_real_bundles_that_verify(
    files: dict[str, Path], ca: CertificateAuthority, name: str
) -> None:
    data = json.loads(files[name].read_bytes())
    if data["verificationMaterial"].get("tlogEntries"):
        # rekor_entry() is Rekor-shaped but made up: the verifier checks log entries when
        # present, and refuses this one; without it the signature and chain verify.
        with pytest.raises(VerificationError, match="transparency log check failed"):
            Verifier(ca_certs=[ca.cert_pem]).verify(Bundle.from_json(data), UnsafeNoIdentityCheck())
        data["verificationMaterial"]["tlogEntries"] = []
    bundle = Bundle.from_json(data)
    verified = Verifier(ca_certs=[ca.cert_pem]).verify(bundle, UnsafeNoIdentityCheck())
    assert verified.statement.subjects


def test_chainproof_keyless_bundle(files: dict[str, Path]) -> None:
    material = craft(ATTESTATION, files["chainproof.sigstore.json"])
    statement = chainproof_statement()
    assert [s["name"] for s in statement["subject"]] == [
        "shop.tar.gz",
        "ghcr.io/acme/shop",
        "git.head",
        "chainproof.workflow.build",
    ]
    assert material.summary == {
        "bundle": True,
        "media_type": BUNDLE_V03,
        "verification_material": "certificate",
        "certificate": {
            "identity": "chainproof://acme/shop/build/runs/run-42",
            "issuer": "https://chainproof.local",
        },
        "tlog_entries": 0,
        "rfc3161_timestamps": 0,
        "payload_type": IN_TOTO,
        "statement_type": V1,
        "predicate_type": "https://chainproof.dev/attestation/v1",
        "signatures": 1,
        "signatures_verified": False,
        "subject_count": 4,
        "subjects": subjects_of(statement),
        "referrers": referrers_of(statement),
        "workflow": {
            "name": "build",
            "project": "shop",
            "org": "acme",
            "run_id": "run-42",
            "runner_type": "GITHUB_ACTION",
        },
    }
    assert material.summary["referrers"][:3] == [
        {"name": "shop.tar.gz", "digest": f"sha256:{BINARY}"},
        {"name": "ghcr.io/acme/shop", "digest": f"sha256:{IMAGE}"},
        {"name": "git.head", "digest": f"sha1:{COMMIT}"},
    ]
    assert material.annotations == {
        "chainproof.material.attestation.predicate_type": "https://chainproof.dev/attestation/v1"
    }


def test_v01_bundle_with_a_certificate_chain(files: dict[str, Path]) -> None:
    summary = craft(ATTESTATION, files["chainproof-v0.1.sigstore.json"]).summary
    assert summary["media_type"] == BUNDLE_V01
    assert summary["verification_material"] == "certificate"
    assert summary["certificate"]["identity"] == "chainproof://acme/shop/build/runs/run-42"
    assert summary["subject_count"] == 4
    raw = json.loads(files["chainproof-v0.1.sigstore.json"].read_text())
    assert len(raw["verificationMaterial"]["x509CertificateChain"]["certificates"]) == 2


def test_stored_key_signed_bundle(files: dict[str, Path]) -> None:
    material = craft(ATTESTATION, files["key-signed.sigstore.json"])
    assert material.summary == {
        "bundle": True,
        "media_type": BUNDLE_V03,
        "verification_material": "public_key",
        "public_key_hint": json.loads(KEY_SIGNED.read_text())["verificationMaterial"]["publicKey"][
            "hint"
        ],
        "tlog_entries": 0,
        "rfc3161_timestamps": 0,
        "payload_type": IN_TOTO,
        "statement_type": V1,
        "predicate_type": "https://chainproof.dev/attestation/v1",
        "signatures": 1,
        "signatures_verified": False,
        "subject_count": 1,
        "subjects": [{"name": "chainproof.workflow.build", "digest": {"sha256": "7" * 64}}],
        "referrers": [{"name": "chainproof.workflow.build", "digest": "sha256:" + "7" * 64}],
        "workflow": {"name": "build", "project": "shop", "org": "acme", "run_id": "run-fixture"},
    }


def test_chainloop_bare_dsse_envelope(files: dict[str, Path]) -> None:
    material = craft(ATTESTATION, files["chainloop.envelope.json"])
    assert material.summary == {
        "bundle": False,
        "payload_type": IN_TOTO,
        "statement_type": V01,
        "predicate_type": "chainloop.dev/attestation/v0.2",
        "signatures": 1,
        "signatures_verified": False,
        "subject_count": 2,
        "subjects": subjects_of(chainloop_statement()),
        "referrers": [
            {"name": "chainloop.workflow.deploy", "digest": "sha256:" + "07" * 32},
            {"name": "index.docker.io/acme/api", "digest": f"sha256:{IMAGE}"},
        ],
        "workflow": {
            "name": "deploy",
            "project": "api",
            "org": "acme",
            "run_id": "003c6d4f-1907-45a7-a596-57c38ef1fdc3",
            "runner_type": "GITLAB_PIPELINE",
        },
    }
    assert material.annotations == {
        "chainproof.material.attestation.predicate_type": "chainloop.dev/attestation/v0.2"
    }


def test_chainloop_predicate_type_with_scheme_is_chainloop_too(tmp_path: Path) -> None:
    statement = chainloop_statement()
    statement["predicateType"] = "https://chainloop.dev/attestation/v0.2"
    path = write(tmp_path, "cl.json", signed_envelope(statement))
    assert ATTESTATION.craft("a", str(path)).summary["workflow"]["name"] == "deploy"


def test_slsa_provenance_is_an_attestation_too(files: dict[str, Path]) -> None:
    material = craft(ATTESTATION, files["github-provenance.sigstore.json"])
    assert material.summary["predicate_type"] == "https://slsa.dev/provenance/v1"
    assert material.summary["tlog_entries"] == 1
    assert "workflow" not in material.summary
    assert "slsa_version" not in material.summary


def test_any_predicate_type_and_subject_caps(tmp_path: Path) -> None:
    statement = statement_with_subjects(120)
    statement["subject"].append(dict(statement["subject"][0]))  # a duplicate subject
    statement["subject"].append({"name": "tree", "digest": {"dirHash": "ab" * 32}})
    path = write(tmp_path, "many.json", signed_envelope(statement))
    summary = craft(ATTESTATION, path).summary
    assert summary["predicate_type"] == "https://example.com/test-result/v1"
    assert summary["subject_count"] == 122
    assert summary["subjects"] == subjects_of(statement)[:50]
    # one referrer per distinct (name, digest); a subject without sha256/sha512/sha1 has none
    assert len(summary["referrers"]) == 120
    assert summary["referrers"][119] == {
        "name": "dist/file-0119.tar.gz",
        "digest": f"sha256:{119:064x}",
    }
    assert "referrers_truncated" not in summary


def test_referrers_are_capped(tmp_path: Path) -> None:
    path = write(tmp_path, "huge.json", signed_envelope(statement_with_subjects(1005)))
    summary = ATTESTATION.craft("a", str(path)).summary
    assert summary["subject_count"] == 1005
    assert len(summary["referrers"]) == 1000
    assert summary["referrers_truncated"] is True


def test_referrer_digest_is_sha512_or_sha1_without_sha256_and_lowercased(tmp_path: Path) -> None:
    statement = statement_with_subjects(0)
    statement["subject"] = [
        {"name": "a", "digest": {"sha512": "AB" * 64, "sha1": "cd" * 20}},
        {"name": "b", "digest": {"sha1": "cd" * 20}},
    ]
    path = write(tmp_path, "algs.json", signed_envelope(statement))
    assert ATTESTATION.craft("a", str(path)).summary["referrers"] == [
        {"name": "a", "digest": "sha512:" + "ab" * 64},
        {"name": "b", "digest": "sha1:" + "cd" * 20},
    ]


def test_jsonl_with_one_bundle_line(files: dict[str, Path], tmp_path: Path) -> None:
    line = files["chainproof.sigstore.json"].read_text()
    path = write(tmp_path, "att.jsonl", line + "\n\n")
    assert ATTESTATION.accepts(str(path))
    assert craft(ATTESTATION, path).summary["subject_count"] == 4


def test_bom_and_url_safe_unpadded_base64_are_tolerated(tmp_path: Path) -> None:
    doc = signed_envelope(chainloop_statement())
    doc["payload"] = base64.urlsafe_b64encode(base64.b64decode(doc["payload"])).decode().rstrip("=")
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())
    assert ATTESTATION.accepts(str(path))
    assert craft(ATTESTATION, path).summary["subject_count"] == 2


# --- ATTESTATION: invalid files --------------------------------------------------------------


def test_wrong_payload_type(tmp_path: Path) -> None:
    sbom = (MATERIALS / "cyclonedx-1.6.json").read_bytes()
    path = write(
        tmp_path, "sbom.dsse.json", signed_envelope(sbom, "application/vnd.cyclonedx+json")
    )
    err = error(ATTESTATION, path)
    assert err.message == (
        "sbom.dsse.json is not a valid in-toto attestation: the DSSE payloadType is "
        "'application/vnd.cyclonedx+json', expected application/vnd.in-toto+json"
    )


def test_payload_not_base64(tmp_path: Path) -> None:
    doc = signed_envelope(chainloop_statement())
    doc["payload"] = "this is not base64!"
    err = error(ATTESTATION, write(tmp_path, "e.json", doc))
    assert err.message == (
        "e.json is not a valid in-toto attestation: DSSE envelope: "
        "the DSSE payload is not valid base64"
    )


def test_signature_not_base64(tmp_path: Path) -> None:
    doc = signed_envelope(chainloop_statement())
    doc["signatures"][0]["sig"] = "%%%"
    err = error(ATTESTATION, write(tmp_path, "e.json", doc))
    assert err.message.endswith("DSSE envelope: DSSE signature 0 is not valid base64")


def test_payload_not_json(tmp_path: Path) -> None:
    err = error(ATTESTATION, write(tmp_path, "e.json", signed_envelope(b"hello, world")))
    assert err.message.startswith(
        "e.json is not a valid in-toto attestation: the DSSE payload is not JSON: Expecting value"
    )


def test_payload_not_an_object(tmp_path: Path) -> None:
    err = error(ATTESTATION, write(tmp_path, "e.json", signed_envelope([1, 2])))
    assert err.message.endswith("the DSSE payload is an array, not a statement")


@pytest.mark.parametrize("statement_type", [None, "https://in-toto.io/Statement/v0.2", 1])
def test_not_an_in_toto_statement(tmp_path: Path, statement_type: Any) -> None:
    statement = chainloop_statement()
    statement["_type"] = statement_type
    err = error(ATTESTATION, write(tmp_path, "e.json", signed_envelope(statement)))
    assert err.message == (
        f"e.json is not a valid in-toto attestation: the payload is not an in-toto Statement: "
        f"_type is {statement_type!r}, expected https://in-toto.io/Statement/v1 or "
        "https://in-toto.io/Statement/v0.1"
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda s: s.update(subject=[]), "the statement has no subject"),
        (lambda s: s.pop("subject"), "the statement has no subject"),
        (lambda s: s["subject"][1].pop("digest"), "statement subject 1 has no digest"),
        (lambda s: s["subject"][0].update(digest={}), "statement subject 0 has no digest"),
        (
            lambda s: s["subject"][0].update(digest={"sha256": 7}),
            "statement subject 0 has a malformed digest",
        ),
        (
            lambda s: s["subject"][0].update(digest={"sha256": "abc"}),
            "statement subject 0 has a malformed sha256",
        ),
        (lambda s: s["subject"][1].pop("name"), "statement subject 1 has no name"),
        (lambda s: s["subject"].append("x"), "statement subject 2 has no digest"),
        (lambda s: s.pop("predicateType"), "the statement has no predicateType"),
        (lambda s: s.update(predicate=[]), "the statement's predicate is not an object"),
    ],
)
def test_malformed_statement(
    tmp_path: Path, change: Callable[[dict[str, Any]], Any], problem: str
) -> None:
    statement = chainloop_statement()
    change(statement)
    err = error(ATTESTATION, write(tmp_path, "e.json", signed_envelope(statement)))
    assert err.message == f"e.json is not a valid in-toto attestation: {problem}"


def test_unsigned_envelope(tmp_path: Path) -> None:
    doc = signed_envelope(chainloop_statement())
    doc["signatures"] = []
    err = error(ATTESTATION, write(tmp_path, "e.json", doc))
    assert (
        err.message
        == "e.json is not a valid in-toto attestation: the DSSE envelope has no signatures"
    )


def test_envelope_without_payload_type(tmp_path: Path) -> None:
    doc = signed_envelope(chainloop_statement())
    del doc["payloadType"]
    err = error(ATTESTATION, write(tmp_path, "e.json", doc))
    assert err.message.endswith("DSSE envelope: the DSSE envelope has no payloadType")


def test_truncated_bundle(files: dict[str, Path], tmp_path: Path) -> None:
    text = files["github-provenance.sigstore.json"].read_text()
    path = write(tmp_path, "cut.sigstore.json", text[: len(text) // 2])
    assert SLSA.accepts(str(path)) is False
    err = error(ATTESTATION, path)
    assert err.message.startswith(
        "cut.sigstore.json is not a valid in-toto attestation document: not JSON at line"
    )
    assert err.hint == "the file may be truncated or not JSON at all"


def test_jsonl_with_several_envelopes(files: dict[str, Path], tmp_path: Path) -> None:
    line = files["provenance-v0.2.intoto.jsonl"].read_text()
    path = write(tmp_path, "two.intoto.jsonl", line + line)
    assert ATTESTATION.accepts(str(path))  # craft says what is wrong
    err = error(ATTESTATION, path)
    assert err.message == (
        "two.intoto.jsonl is not a valid in-toto attestation: it holds 2 JSON lines, "
        "expected one bundle or DSSE envelope"
    )
    assert err.hint == "split the file: add each attestation as its own material"


def test_bundle_with_a_message_signature(tmp_path: Path) -> None:
    doc = {
        "mediaType": BUNDLE_V03,
        "verificationMaterial": {"publicKey": {"hint": "k"}},
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": b64encode(b"\x00" * 32)},
            "signature": b64encode(b"sig"),
        },
    }
    err = error(ATTESTATION, write(tmp_path, "blob.sigstore.json", doc))
    assert err.message == (
        "blob.sigstore.json is not a valid in-toto attestation: Sigstore bundle: "
        "the bundle holds no dsseEnvelope"
    )
    assert err.hint and "messageSignature" in err.hint


def test_bundle_with_unknown_media_type(files: dict[str, Path], tmp_path: Path) -> None:
    doc = json.loads(files["chainproof.sigstore.json"].read_text())
    doc["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.9+json"
    err = error(ATTESTATION, write(tmp_path, "b.json", doc))
    assert err.message.endswith(
        "Sigstore bundle: unsupported bundle media type "
        "'application/vnd.dev.sigstore.bundle.v0.9+json'"
    )


def test_bundle_whose_certificate_is_not_x509(files: dict[str, Path], tmp_path: Path) -> None:
    doc = json.loads(files["chainproof.sigstore.json"].read_text())
    doc["verificationMaterial"]["certificate"]["rawBytes"] = b64encode(b"not a certificate")
    err = error(ATTESTATION, write(tmp_path, "b.json", doc))
    assert err.message == (
        "b.json is not a valid in-toto attestation: Sigstore bundle: certificate 0 is not DER X.509"
    )


def test_an_unsigned_statement_is_refused_with_a_hint(tmp_path: Path) -> None:
    err = error(ATTESTATION, write(tmp_path, "s.json", chainloop_statement()))
    assert err.message == (
        "s.json is not a valid in-toto attestation: neither a Sigstore bundle (mediaType, "
        "dsseEnvelope) nor a DSSE envelope (payloadType, payload, signatures)"
    )
    assert err.hint == (
        "this is an unsigned in-toto statement: sign it into a DSSE envelope or bundle"
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ([], "the top level is an array, expected a Sigstore bundle or a DSSE envelope"),
        ('"x"', "the top level is a string, expected a Sigstore bundle or a DSSE envelope"),
    ],
)
def test_wrong_top_level(tmp_path: Path, content: Any, problem: str) -> None:
    err = error(ATTESTATION, write(tmp_path, "t.json", content))
    assert err.message == f"t.json is not a valid in-toto attestation: {problem}"


def test_other_kinds_are_refused(tmp_path: Path) -> None:
    err = error(ATTESTATION, MATERIALS / "cyclonedx-1.6.json")
    assert err.message.startswith("cyclonedx-1.6.json is not a valid in-toto attestation: neither")
    err = error(ATTESTATION, MATERIALS / "not-json.csv")
    assert "not JSON at line 1" in err.message


def test_empty_missing_and_directory() -> None:
    assert "is empty" in error(ATTESTATION, MATERIALS / "empty.json").message
    assert "does not exist" in error(ATTESTATION, MATERIALS / "missing.json").message
    assert "is a directory" in error(ATTESTATION, MATERIALS).message
    assert "needs a file path" in error(ATTESTATION, "").message


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.sigstore.json"
    with open(path, "wb") as fh:
        fh.write(b"{")
        fh.truncate(17 * 1024 * 1024)  # sparse: nothing is written
    err = error(ATTESTATION, path)
    assert (
        err.message == "huge.sigstore.json is not a valid in-toto attestation: larger than 16 MiB"
    )


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"payloadType": "caf\xe9"}')
    assert "not UTF-8" in error(ATTESTATION, path).message


# --- SLSA_PROVENANCE -------------------------------------------------------------------------


def test_github_slsa_v1_bundle(files: dict[str, Path]) -> None:
    material = craft(SLSA, files["github-provenance.sigstore.json"])
    assert material.summary == {
        "bundle": True,
        "media_type": BUNDLE_V03,
        "verification_material": "certificate",
        "certificate": {"identity": WORKFLOW_ID, "issuer": GITHUB_ISSUER},
        "tlog_entries": 1,
        "rfc3161_timestamps": 0,
        "payload_type": IN_TOTO,
        "statement_type": V1,
        "predicate_type": "https://slsa.dev/provenance/v1",
        "signatures": 1,
        "signatures_verified": False,
        "subject_count": 2,
        "subjects": [
            {"name": "shop-1.4.0-py3-none-any.whl", "digest": {"sha256": WHEEL}},
            {"name": "shop-1.4.0.tar.gz", "digest": {"sha256": SDIST}},
        ],
        "referrers": [
            {"name": "shop-1.4.0-py3-none-any.whl", "digest": f"sha256:{WHEEL}"},
            {"name": "shop-1.4.0.tar.gz", "digest": f"sha256:{SDIST}"},
        ],
        "slsa_version": "v1",
        "builder_id": "https://github.com/actions/runner/github-hosted",
        "build_type": "https://actions.github.io/buildtypes/workflow/v1",
        "invocation_id": f"{REPO}/actions/runs/11823/attempts/1",
        "source": {
            "repository": REPO,
            "ref": "refs/tags/v1.4.0",
            "entry_point": ".github/workflows/release.yml",
            "commit": COMMIT,
        },
    }
    assert material.annotations == {
        "chainproof.material.attestation.predicate_type": "https://slsa.dev/provenance/v1",
        "chainproof.material.slsa.builder_id": "https://github.com/actions/runner/github-hosted",
    }


def test_generator_v02_provenance_in_intoto_jsonl(files: dict[str, Path]) -> None:
    material = craft(SLSA, files["provenance-v0.2.intoto.jsonl"])
    builder = (
        "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/"
        "builder_go_slsa3.yml@refs/tags/v1.9.0"
    )
    assert material.summary == {
        "bundle": False,
        "payload_type": IN_TOTO,
        "statement_type": V01,
        "predicate_type": "https://slsa.dev/provenance/v0.2",
        "signatures": 1,
        "signatures_verified": False,
        "subject_count": 1,
        "subjects": [{"name": "shop-linux-amd64", "digest": {"sha256": BINARY}}],
        "referrers": [{"name": "shop-linux-amd64", "digest": f"sha256:{BINARY}"}],
        "slsa_version": "v0.2",
        "builder_id": builder,
        "build_type": "https://github.com/slsa-framework/slsa-github-generator/go@v1",
        "source": {
            "repository": f"git+{REPO}",
            "ref": "refs/heads/main",
            "commit": COMMIT,
            "entry_point": ".github/workflows/go-release.yml",
        },
    }
    assert material.annotations["chainproof.material.slsa.builder_id"] == builder


def test_v1_source_from_a_resolved_dependency_or_a_uri_string(tmp_path: Path) -> None:
    statement = github_provenance_statement()
    statement["predicate"]["buildDefinition"]["externalParameters"] = {"inputs": {}}
    path = write(tmp_path, "p.json", signed_envelope(statement))
    assert SLSA.craft("p", str(path)).summary["source"] == {
        "repository": f"git+{REPO}",
        "ref": "refs/tags/v1.4.0",
        "commit": COMMIT,
    }
    statement["predicate"]["buildDefinition"]["externalParameters"] = {
        "source": "git+ssh://git@example.com/acme/shop"
    }
    statement["predicate"]["buildDefinition"].pop("resolvedDependencies")
    statement["predicate"]["runDetails"].pop("metadata")
    path = write(tmp_path, "p.json", signed_envelope(statement))
    summary = SLSA.craft("p", str(path)).summary
    assert summary["source"] == {"repository": "git+ssh://git@example.com/acme/shop"}
    assert "invocation_id" not in summary


def test_v1_without_source(tmp_path: Path) -> None:
    statement = github_provenance_statement()
    statement["predicate"]["buildDefinition"] = {
        "buildType": "https://example.com/make/v1",
        "externalParameters": {"target": "all"},
    }
    path = write(tmp_path, "p.json", signed_envelope(statement))
    summary = SLSA.craft("p", str(path)).summary
    assert "source" not in summary
    assert summary["build_type"] == "https://example.com/make/v1"


def test_non_slsa_predicate_is_refused_naming_it(files: dict[str, Path]) -> None:
    err = error(SLSA, files["chainproof.sigstore.json"])
    assert err.message == (
        "chainproof.sigstore.json is not SLSA provenance: its predicateType is "
        "'https://chainproof.dev/attestation/v1', expected https://slsa.dev/provenance/v1 "
        "or https://slsa.dev/provenance/v0.2"
    )
    assert err.hint == "add other in-toto attestations with --kind ATTESTATION"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda p: p["runDetails"]["builder"].pop("id"),
            "predicate.runDetails.builder.id is missing",
        ),
        (lambda p: p.pop("runDetails"), "predicate.runDetails.builder.id is missing"),
        (
            lambda p: p["buildDefinition"].update(buildType=""),
            "predicate.buildDefinition.buildType is not a non-empty string",
        ),
        (
            lambda p: p["buildDefinition"].update(externalParameters=[]),
            "predicate.buildDefinition.externalParameters is not an object",
        ),
        (lambda p: p.clear(), "predicate.buildDefinition.buildType is missing"),
    ],
)
def test_slsa_v1_required_fields(
    tmp_path: Path, change: Callable[[dict[str, Any]], Any], problem: str
) -> None:
    statement = github_provenance_statement()
    change(statement["predicate"])
    err = error(SLSA, write(tmp_path, "p.json", signed_envelope(statement)))
    assert err.message == f"p.json is not valid SLSA provenance v1: {problem}"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda p: p.pop("builder"), "predicate.builder.id is missing"),
        (lambda p: p.pop("buildType"), "predicate.buildType is missing"),
        (lambda p: p.update(builder={"id": 3}), "predicate.builder.id is not a non-empty string"),
        (lambda p: p.update(invocation="x"), "predicate.invocation is not an object"),
    ],
)
def test_slsa_v02_required_fields(
    tmp_path: Path, change: Callable[[dict[str, Any]], Any], problem: str
) -> None:
    statement = generator_provenance_statement()
    change(statement["predicate"])
    err = error(SLSA, write(tmp_path, "p.json", signed_envelope(statement)))
    assert err.message == f"p.json is not valid SLSA provenance v0.2: {problem}"


def test_slsa_refuses_what_attestation_refuses(tmp_path: Path) -> None:
    statement = github_provenance_statement()
    statement["subject"] = []
    err = error(SLSA, write(tmp_path, "p.json", signed_envelope(statement)))
    assert (
        err.message
        == "p.json is not a valid SLSA provenance attestation: the statement has no subject"
    )
    assert "is empty" in error(SLSA, MATERIALS / "empty.json").message
