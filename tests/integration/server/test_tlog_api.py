"""Pushed bundles carry a log entry that chainproof's and sigstore-python's verifiers accept;
the log's checkpoint, entries and consistency proofs over the API.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
from sigstore.errors import Error as SigstoreError
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run
from tests.integration.server.test_push import _materials, _sign, _start, _statement, _upload
from tests.tlog_helpers import mth

from chainproof.core.bundle import Bundle
from chainproof.core.merkle import leaf_hash, verify_consistency, verify_inclusion
from chainproof.errors import VerificationError
from chainproof.signing.checkpoint import verify_checkpoint
from chainproof.signing.trust import TrustedRoot
from chainproof.signing.verifier import ExactIdentity, Verifier


def _push(env: Env, *, first: bool = True) -> dict[str, Any]:
    """One keyless push (``first``: set the workflow up); the accepted run and bundle."""
    init = _start(env) if first else init_run(env).json()
    run_id = init["run"]["id"]
    _upload(env, run_id)
    bundle = _sign(env, init, _statement(env, init))
    reply = env.post(f"/runs/{run_id}/attestation", {"bundle": bundle, "materials": _materials()})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _identity(env: Env, run: dict[str, Any]) -> str:
    return f"chainproof://{env.org['name']}/p/build/runs/{run['id']}"


def _root(env: Env) -> dict[str, Any]:
    reply = env.get("/trust/root")
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _sigstore_verify(root: dict[str, Any], bundle: dict[str, Any], identity: str) -> bytes:
    from sigstore.models import Bundle as SigstoreBundle
    from sigstore.models import TrustedRoot as SigstoreRoot
    from sigstore.verify import Verifier as SigstoreVerifier
    from sigstore.verify.policy import Identity
    from sigstore_models.trustroot import v1 as trustroot_v1

    trusted = SigstoreRoot(trustroot_v1.TrustedRoot.from_json(json.dumps(root)))
    verifier = SigstoreVerifier(trusted_root=trusted)
    parsed = SigstoreBundle.from_json(json.dumps(bundle))
    policy = Identity(identity=identity, issuer="https://chainproof.local")
    _, payload = verifier.verify_dsse(parsed, policy)
    return payload


def test_pushed_bundle_verifies_with_chainproof_and_sigstore(app_client: Env) -> None:
    run = _push(app_client)
    root = _root(app_client)
    assert len(root["tlogs"]) == len(root["ctlogs"]) == len(root["timestampAuthorities"]) == 1
    bundle = run["bundle"]
    result = Verifier(trusted_root=TrustedRoot.from_json(root)).verify(
        Bundle.from_json(bundle), ExactIdentity(_identity(app_client, run))
    )
    for check in (
        "timestamp",
        "transparency log",
        "SCT",
        "certificate chain",
        "log entry consistency",
    ):
        assert check in result.checks
    payload = _sigstore_verify(root, bundle, _identity(app_client, run))
    assert json.loads(payload)["predicate"]["workflow"]["runID"] == run["id"]


def test_repush_returns_the_same_entry_and_refused_push_logs_nothing(app_client: Env) -> None:
    init = _start(app_client)
    run_id = init["run"]["id"]
    _upload(app_client, run_id)
    bundle = _sign(app_client, init, _statement(app_client, init))
    tampered = copy.deepcopy(bundle)
    tampered["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(b"x" * 64).decode()
    refused = app_client.post(f"/runs/{run_id}/attestation", {"bundle": tampered})
    assert refused.status_code == 422
    assert app_client.get("/tlog/checkpoint").json()["tree_size"] == 0
    body = {"bundle": bundle, "materials": _materials()}
    first = app_client.post(f"/runs/{run_id}/attestation", body).json()
    again = app_client.post(f"/runs/{run_id}/attestation", body).json()
    assert again["bundle"] == first["bundle"]
    # one entry for the attestation, one for the VSA the push issued; none for the repeat
    assert app_client.get("/tlog/checkpoint").json()["tree_size"] == 2


def test_key_signed_bundles_are_logged(app_client: Env) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    import chainproof.signing.signer as signer_mod

    init = _start(app_client)
    run_id = init["run"]["id"]
    _upload(app_client, run_id)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = signer_mod.KeySigner.from_pem(pem, None)
    public = bytes(signer.public_key_pem).decode()
    assert app_client.post("/signing/keys", {"name": "ci", "public_key": public}).status_code == 201
    body = {"bundle": signer.sign(_statement(app_client, init)).to_dict(), "public_key": public}
    reply = app_client.post(f"/runs/{run_id}/attestation", body)
    assert reply.status_code == 200, reply.text
    stored = Bundle.from_json(reply.json()["bundle"])
    assert len(stored.tlog_entries) == 1
    verifier = Verifier(
        trusted_root=TrustedRoot.from_json(_root(app_client)), public_keys=[public.encode()]
    )
    from chainproof.signing.verifier import KeyIdentity

    result = verifier.verify(stored, KeyIdentity.of_pem(public.encode()))
    assert "transparency log" in result.checks and "log entry consistency" in result.checks


def test_checkpoint_entries_and_consistency_over_the_api(app_client: Env) -> None:
    runs = [_push(app_client, first=i == 0) for i in range(3)]
    size = 6  # each push logs its attestation, then the VSA it issues
    root = TrustedRoot.from_json(_root(app_client))
    (log,) = root.tlogs
    head = app_client.get("/tlog/checkpoint").json()
    assert head["tree_size"] == size
    assert head["origin"] == f"chainproof.local/{app_client.org['name']}/tlog"
    signed = verify_checkpoint(head["checkpoint"], log)
    assert signed.tree_size == size and signed.root_hash == base64.b64decode(head["root_hash"])
    entries = [app_client.get(f"/tlog/entries/{index}").json() for index in range(size)]
    bodies = [base64.b64decode(entry["canonicalizedBody"]) for entry in entries]
    for index, entry in enumerate(entries):
        proof = entry["inclusionProof"]
        assert proof["treeSize"] == str(size)
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        verify_inclusion(index, size, leaf_hash(bodies[index]), hashes, signed.root_hash)
    for run in runs:
        logged = run["bundle"]["verificationMaterial"]["tlogEntries"][0]
        entry = entries[int(logged["logIndex"])]
        assert logged["canonicalizedBody"] == entry["canonicalizedBody"]
        # an entry read back later verifies in a bundle too (proof against the newer tree)
        later = copy.deepcopy(run["bundle"])
        later["verificationMaterial"]["tlogEntries"] = [entry]
        Verifier(trusted_root=root).verify(
            Bundle.from_json(later), ExactIdentity(_identity(app_client, run))
        )
    assert signed.root_hash == mth(bodies)
    for first in range(1, size + 1):
        reply = app_client.get("/tlog/proof/consistency", params={"first": first, "second": size})
        assert reply.status_code == 200, reply.text
        got = reply.json()
        old_root = base64.b64decode(got["first_root_hash"])
        assert old_root == mth(bodies[:first])
        verify_consistency(
            first, size, old_root, signed.root_hash, [base64.b64decode(h) for h in got["hashes"]]
        )
    bad = app_client.get("/tlog/proof/consistency", params={"first": 3, "second": 2})
    assert bad.status_code == 400 and "first must be between" in bad.json()["detail"]
    beyond = app_client.get("/tlog/proof/consistency", params={"first": 1, "second": size + 1})
    assert beyond.status_code == 400 and "outside the log" in beyond.json()["detail"]
    zero = app_client.get("/tlog/proof/consistency", params={"first": 0, "second": 2})
    assert zero.status_code == 422
    assert app_client.get(f"/tlog/entries/{size}").status_code == 404
    assert app_client.get("/tlog/entries/-1").status_code == 422
    robot = app_client.robot()
    assert app_client.get("/tlog/checkpoint", token=robot).status_code == 403
    # each organisation has its own log
    other = app_client.new_org()
    assert other.get("/tlog/checkpoint").json()["tree_size"] == 0
    assert other.get("/tlog/entries/0").status_code == 404


def test_bad_log_material_is_rejected_naming_the_check(app_client: Env) -> None:
    run = _push(app_client)
    root_json = _root(app_client)
    root = TrustedRoot.from_json(root_json)
    identity = _identity(app_client, run)
    other = app_client.new_org()
    _push(other)
    foreign = other.get("/tlog/checkpoint").json()["checkpoint"]

    def tampered(change: str) -> dict[str, Any]:
        data = copy.deepcopy(run["bundle"])
        proof = data["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
        if change == "truncated":
            proof["treeSize"] = "2"  # claims a bigger tree than its (empty) path reaches
        elif change == "foreign checkpoint":
            proof["checkpoint"]["envelope"] = foreign
        return data

    with pytest.raises(VerificationError, match=r"^inclusion proof check failed: .*truncated"):
        Verifier(trusted_root=root).verify(
            Bundle.from_json(tampered("truncated")), ExactIdentity(identity)
        )
    with pytest.raises(VerificationError, match=r"^checkpoint check failed: no signature by"):
        Verifier(trusted_root=root).verify(
            Bundle.from_json(tampered("foreign checkpoint")), ExactIdentity(identity)
        )
    for change in ("truncated", "foreign checkpoint"):
        with pytest.raises(SigstoreError):
            _sigstore_verify(root_json, tampered(change), identity)


def test_the_tsa_timestamp_alone_is_a_verified_time_for_sigstore(app_client: Env) -> None:
    """Without the log's signed entry timestamp, the bundle's RFC 3161 timestamp is the only
    source of time: sigstore-python accepts it only if our TSA token verifies."""
    run = _push(app_client)
    root = _root(app_client)
    bundle = copy.deepcopy(run["bundle"])
    del bundle["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]
    _sigstore_verify(root, bundle, _identity(app_client, run))
    del bundle["verificationMaterial"]["timestampVerificationData"]
    with pytest.raises(SigstoreError):
        _sigstore_verify(root, bundle, _identity(app_client, run))
