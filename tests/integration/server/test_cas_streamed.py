"""``POST /cas/v1/uploads``: the bytes first, their digest last (what a client that hashes while
it sends uses), into the embedded fs store and an organisation's OCI registry. SQLite and
PostgreSQL.

What holds as for ``PUT /blobs/{digest}``: the blob is visible only once its bytes hashed to
the digest, a run's token proves possession only of what it sent (push-possession rule), and a
backend that wants the digest first (S3, Azure Blob) refuses before reading the body.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run, setup_workflow

from chainproof.cas.oci import OciBackend
from chainproof.core.digest import Digest


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _grant(env: Env) -> dict[str, Any]:
    run_id = init_run(env).json()["run"]["id"]
    grant = env.post("/cas/tokens", {"direction": "upload", "run_id": run_id})
    assert grant.status_code == 200, grant.text
    return dict(grant.json())


def _post(env: Env, grant: dict[str, Any], body: bytes) -> Any:
    auth = {"Authorization": f"Bearer {grant['token']}"}
    return env.client.post("/cas/v1/uploads", content=body, headers=auth)


def _head(env: Env, grant: dict[str, Any], digest: str) -> int:
    auth = {"Authorization": f"Bearer {grant['token']}"}
    return int(env.client.head(f"/cas/v1/blobs/{digest}", headers=auth).status_code)


def _stored_files(env: Env) -> list[str]:
    return sorted(p.name for p in env.settings.cas_path.rglob("*") if p.is_file())


def _oci_default(env: Env, registry: str) -> str:
    repository = f"{registry}/streamed/{env.org['name'].lower()}"
    body = {"name": "reg", "provider": "oci", "config": {"repository": repository}}
    assert env.post("/cas-backends", {**body, "default": True}).status_code == 201
    return repository


def test_bytes_then_digest_are_stored_and_each_run_proves_possession(app_client: Env) -> None:
    setup_workflow(app_client)
    first, second = _grant(app_client), _grant(app_client)
    assert first["backend"]["streams"] is True
    data = b"streamed evidence\n" * 70_000  # over 1 MiB: several reads on the server
    digest = _digest(data)
    reply = _post(app_client, first, data + digest.encode())
    assert reply.status_code == 201, reply.text
    assert reply.json() == {"digest": digest, "size": len(data)}
    assert _head(app_client, first, digest) == 200
    # Another run has not shown it holds the bytes: it sends them, then HEAD says 200.
    assert _head(app_client, second, digest) == 404
    assert _post(app_client, second, data + digest.encode()).status_code == 201
    assert _head(app_client, second, digest) == 200
    assert digest[7:] in _stored_files(app_client)


@pytest.mark.parametrize("case", ["wrong", "malformed", "missing"])
def test_a_bad_digest_leaves_nothing(app_client: Env, case: str) -> None:
    setup_workflow(app_client)
    grant = _grant(app_client)
    data = b"the real bytes\n" * 1000
    body = {
        "wrong": data + _digest(b"other bytes").encode(),
        "malformed": data + b"sha256:" + b"z" * 64,
        "missing": data,
    }[case]
    before = _stored_files(app_client)
    reply = _post(app_client, grant, body)
    expected = ("verification_failed", 422) if case == "wrong" else ("invalid_input", 400)
    assert (reply.json()["code"], reply.status_code) == expected, reply.text
    assert _head(app_client, grant, _digest(data)) == 404
    assert _stored_files(app_client) == before  # no blob, no temporary file


def test_other_bytes_under_a_stored_digest_prove_nothing(app_client: Env) -> None:
    setup_workflow(app_client)
    owner, other = _grant(app_client), _grant(app_client)
    data = b"a blob another workflow stored\n" * 100
    digest = _digest(data)
    assert _post(app_client, owner, data + digest.encode()).status_code == 201
    forged = _post(app_client, other, b"x" * len(data) + digest.encode())
    assert forged.status_code == 422 and forged.json()["code"] == "verification_failed"
    assert _head(app_client, other, digest) == 404


def test_the_size_limit_is_checked_before_the_body(app_client: Env) -> None:
    setup_workflow(app_client)
    body = {"name": "small", "provider": "fs", "config": {"path": f"{app_client.org['name']}/s"}}
    assert app_client.post("/cas-backends", {**body, "max_blob_size": 1000}).status_code == 201
    app_client.patch("/cas-backends/small", {"default": True})
    grant = _grant(app_client)
    data = b"y" * 1001
    reply = _post(app_client, grant, data + _digest(data).encode())
    assert reply.status_code == 413 and reply.json()["code"] == "too_large"
    fits = b"y" * 1000
    assert _post(app_client, grant, fits + _digest(fits).encode()).status_code == 201


def test_into_the_organisations_registry(app_client: Env, registry: str) -> None:
    setup_workflow(app_client)
    repository = _oci_default(app_client, registry)
    first, second = _grant(app_client), _grant(app_client)
    assert first["backend"] == {
        "name": "reg",
        "provider": "oci",
        "max_blob_size": 100_000_000,
        "streams": True,
    }
    data = bytes(range(256)) * 20_000  # 5 MB: several chunks
    digest = _digest(data)
    wrong = _post(app_client, first, data + _digest(data + b"!").encode())
    assert wrong.status_code == 422 and wrong.json()["code"] == "verification_failed"
    with OciBackend(repository) as oci:
        assert oci.exists(Digest.parse(digest)) is None
        assert _post(app_client, first, data + digest.encode()).status_code == 201
        assert oci.exists(Digest.parse(digest)) == len(data)
    assert _head(app_client, first, digest) == 200
    forged = _post(app_client, second, b"x" * len(data) + digest.encode())
    assert forged.status_code == 422 and _head(app_client, second, digest) == 404
    assert _post(app_client, second, data + digest.encode()).status_code == 201
    assert _head(app_client, second, digest) == 200


def test_a_backend_that_wants_the_digest_first_refuses(app_client: Env) -> None:
    setup_workflow(app_client)
    body = {
        "name": "bucket",
        "provider": "s3",
        "config": {"bucket": "b", "endpoint": "http://127.0.0.1:9"},
        "skip_validation": True,
        "default": True,
    }
    assert app_client.post("/cas-backends", body).status_code == 201, body
    grant = _grant(app_client)
    assert grant["backend"]["streams"] is False
    data = b"evidence"
    reply = _post(app_client, grant, data + _digest(data).encode())
    assert reply.status_code == 409 and "needs the digest before the bytes" in reply.text


def test_attestation_add_sends_a_large_artifact_once(
    app_client: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chainproof.client import attestation, cas
    from chainproof.client.http import ApiClient

    monkeypatch.setattr(cas, "STREAM_MIN", 1024 * 1024)  # "large" without a 64 MiB file
    setup_workflow(app_client, contract="contract-artifact.yaml")
    big = tmp_path / "app.bin"
    big.write_bytes(bytes(range(256)) * 8192)  # 2 MiB
    digest = _digest(big.read_bytes())
    sent: list[str] = []
    transport = app_client.client._transport
    with ApiClient("http://testserver", app_client.token, transport=transport) as api:
        real = api.session_for

        def watched(base_url: str, token: str | None) -> Any:
            session = real(base_url, token)
            request = session.request

            def record(method: str, path: str, **kw: Any) -> Any:
                sent.append(f"{method} {path}")
                return request(method, path, **kw)

            session.request = record  # type: ignore[method-assign]
            return session

        monkeypatch.setattr(api, "session_for", watched)
        state_file = tmp_path / "state" / attestation.STATE_FILE
        attestation.init(
            api, state_file=state_file, workflow="build", project="p", environ={}, cwd=tmp_path
        )
        (added,) = attestation.add(api, state_file, name="binary", value=str(big))
        assert (str(added.digest), added.size) == (digest, big.stat().st_size)
        assert sent == ["POST /uploads"]  # no HEAD, no PUT: one pass over the file
        run_id = attestation.load_state(state_file).run_id
        grant = app_client.post("/cas/tokens", {"direction": "upload", "run_id": run_id})
        assert _head(app_client, grant.json(), digest) == 200  # this run proved possession
