"""``POST /api/v1/bundles/verify``: a bundle checked under the organisation's trust as a push
checks it, with nothing recorded (issue 16). SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run
from tests.integration.server.test_push import _materials, _sign, _start, _statement, _upload
from tests.integration.statements import recorded

import chainproof.signing.signer as signer_mod
from chainproof.server.services import orgs, tokens


def _signed(env: Env, init: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A run (started in a new workflow when ``init`` is None) and its signed bundle, before
    its push."""
    init = init or _start(env)
    _upload(env, init["run"]["id"])
    return init, _sign(env, init, _statement(env, init))


def _pushed(env: Env) -> tuple[dict[str, Any], dict[str, Any]]:
    """A pushed run (the push's answer) and its stored bundle."""
    init, bundle = _signed(env)
    run_id = init["run"]["id"]
    reply = env.post(f"/runs/{run_id}/attestation", {"bundle": bundle, "materials": _materials()})
    assert reply.status_code == 200, reply.text
    return reply.json(), env.get(f"/runs/{run_id}/bundle").json()


def _verify(env: Env, bundle: dict[str, Any], token: str | None = None, **extra: Any) -> Any:
    return env.post("/bundles/verify", {"bundle": bundle, **extra}, token=token)


def _payload_digest(bundle: dict[str, Any]) -> str:
    payload = base64.b64decode(bundle["dsseEnvelope"]["payload"])
    return f"sha256:{hashlib.sha256(payload).hexdigest()}"


def _viewer(env: Env) -> str:
    with env.sessions.begin() as session:
        org = orgs.get_org(session, env.org["id"])
        user = orgs.add_member(session, org, f"viewer-{secrets.token_hex(3)}", "viewer")
        return tokens.create_user_token(session, org, user, "viewer", "viewer-token")[1]


def test_a_stored_bundle_verifies_with_its_log_entry(app_client: Env) -> None:
    run, stored = _pushed(app_client)
    reply = _verify(app_client, stored, require_log_entry=True)
    assert reply.status_code == 200, reply.text
    got = reply.json()
    assert got["verified"] is True and got["key_signed"] is False
    assert got["identity"].startswith(f"chainproof://{app_client.org['name']}/p/build/runs/")
    assert got["identity"].endswith(run["id"]) and got["run_id"] == run["id"]
    assert got["statement_digest"] == _payload_digest(stored)
    assert got["predicate_type"] == "https://chainproof.dev/attestation/v1"
    assert [s["name"] for s in got["subjects"]] == ["binary"]
    (entry,) = got["log_entries"]
    assert entry["log_index"] == run["verification"]["transparency_log"]["log_index"]
    assert entry["integrated_time"] > 0
    assert "transparency log" in got["checks"] and "timestamp" in got["checks"]


def test_a_bundle_before_its_push_verifies_without_a_log_entry(app_client: Env) -> None:
    init, bundle = _signed(app_client)
    reply = _verify(app_client, bundle)
    assert reply.status_code == 200, reply.text
    got = reply.json()
    assert got["log_entries"] == [] and "transparency log" not in got["checks"]
    assert got["run_id"] == init["run"]["id"]
    assert got["statement_digest"] == _payload_digest(bundle)
    # a gate that wants only accepted bundles says so
    refused = _verify(app_client, bundle, require_log_entry=True)
    assert refused.status_code == 422 and refused.json()["code"] == "verification_failed"
    assert refused.json()["detail"].startswith("transparency log check failed")
    # and verifying changed nothing: the run still takes its push
    push = {"bundle": bundle, "materials": _materials()}
    assert app_client.get(f"/runs/{init['run']['id']}").json()["status"] == "initialized"
    assert app_client.post(f"/runs/{init['run']['id']}/attestation", push).status_code == 200


def test_a_tampered_bundle_is_refused(app_client: Env) -> None:
    _, stored = _pushed(app_client)
    for bundle in (stored, _signed(app_client, init_run(app_client).json())[1]):
        tampered = json.loads(json.dumps(bundle))
        envelope = tampered["dsseEnvelope"]
        payload = json.loads(base64.b64decode(envelope["payload"]))
        payload["subject"][0]["digest"]["sha256"] = "0" * 64
        envelope["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
        reply = _verify(app_client, tampered)
        assert reply.status_code == 422, reply.text
        assert reply.json()["code"] == "verification_failed"
    junk = _verify(app_client, {"mediaType": "nope"})
    assert junk.status_code == 422 and "not a valid Sigstore bundle" in junk.json()["detail"]


def test_a_statement_for_another_run_is_refused(app_client: Env) -> None:
    init = _start(app_client)
    other = init_run(app_client).json()["run"]["id"]
    bundle = _sign(app_client, init, _statement(app_client, init, run_id=other))
    reply = _verify(app_client, bundle)
    assert reply.status_code == 422, reply.text
    assert f"issued to run {init['run']['id']}" in reply.json()["detail"]


def test_another_organisations_bundle_is_refused(app_client: Env) -> None:
    other = app_client.new_org()
    _, stored = _pushed(other)
    assert _verify(other, stored).status_code == 200
    reply = _verify(app_client, stored)
    assert reply.status_code == 422, reply.text
    assert reply.json()["code"] == "verification_failed"


def test_a_key_signed_bundle_needs_its_registered_key(app_client: Env) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    init = _start(app_client)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = signer_mod.KeySigner.from_pem(pem, None)
    bundle = signer.sign(_statement(app_client, init)).to_dict()
    public = signer.public_key_pem
    public = public.decode() if isinstance(public, bytes) else str(public)
    refused = _verify(app_client, bundle, public_key=public)
    assert refused.status_code == 422 and "registered" in refused.json()["detail"]
    assert app_client.post("/signing/keys", {"name": "ci", "public_key": public}).status_code == 201
    reply = _verify(app_client, bundle, public_key=public)
    assert reply.status_code == 200, reply.text
    assert reply.json()["key_signed"] is True and reply.json()["log_entries"] == []


def test_a_viewer_may_verify_a_robot_may_not(app_client: Env) -> None:
    _, stored = _pushed(app_client)
    assert _verify(app_client, stored, token=_viewer(app_client)).status_code == 200
    robot = _verify(app_client, stored, token=app_client.robot("ci"))
    assert robot.status_code == 403 and robot.json()["code"] == "forbidden"


def test_verifying_writes_nothing(app_client: Env) -> None:
    _, stored = _pushed(app_client)
    _, unpushed = _signed(app_client, init_run(app_client).json())
    _, other = _pushed(app_client.new_org())
    viewer = _viewer(app_client)
    assert _verify(app_client, stored, token=viewer).status_code == 200  # its first use
    with recorded(app_client) as seen:
        for bundle, status in ((stored, 200), (unpushed, 200), (other, 422)):
            reply = _verify(app_client, bundle, token=viewer)
            assert reply.status_code == status, reply.text
    engine = app_client.sessions.kw["bind"]
    writes = [s for s in seen if s.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert seen and not writes, writes
    if engine.dialect.name == "postgresql":  # the database refuses any write as well
        assert seen.count("SET TRANSACTION READ ONLY") == 3
