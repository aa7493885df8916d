"""The inline CAS backend through the API: upload grants name it, the CAS refuses blobs for
it, push verifies embedded content and marks the material, downloads serve the bytes from
the stored statement under the usual read rules. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import copy
import hashlib
from typing import Any

from sqlalchemy import select
from tests.integration.conftest import Env
from tests.integration.server.test_push import _sign, _start, _statement

from chainproof.server.db import Material

DOC = b'{"kind": "a small document held in the attestation"}\n'
DOC_HEX = hashlib.sha256(DOC).hexdigest()


def _inline_statement(env: Env, init: dict[str, Any], content: bytes = DOC) -> dict[str, Any]:
    statement = copy.deepcopy(_statement(env, init))
    (material,) = statement["predicate"]["materials"]
    material["digest"] = {"sha256": DOC_HEX}
    material["content"] = base64.b64encode(content).decode()
    material["annotations"]["chainproof.material.cas"] = "false"
    material["annotations"]["chainproof.material.inline"] = "true"
    return statement


def _push(env: Env, init: dict[str, Any], statement: dict[str, Any]) -> Any:
    bundle = _sign(env, init, statement)
    return env.post(f"/runs/{init['run']['id']}/attestation", {"bundle": bundle})


def test_inline_backend_lifecycle(app_client: Env) -> None:
    added = app_client.post(
        "/cas-backends", {"name": "small", "provider": "inline", "default": True}
    )
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["status"] == "ok" and body["max_blob_size"] == 500_000 and body["default"]
    assert app_client.post("/cas-backends/small/validate").json()["status"] == "ok"
    init = _start(app_client)
    grant = app_client.post(
        "/cas/tokens", {"direction": "upload", "run_id": init["run"]["id"]}
    ).json()
    assert grant["backend"] == {
        "name": "small",
        "provider": "inline",
        "max_blob_size": 500_000,
        "streams": False,
    }
    # The CAS keeps no blob for an inline backend, whatever a client tries.
    put = app_client.client.put(
        f"/cas/v1/blobs/sha256:{DOC_HEX}",
        content=DOC,
        headers={"Authorization": f"Bearer {grant['token']}"},
    )
    assert put.status_code == 400 and "inline" in put.json()["detail"]
    # Run-less uploads have no attestation to live in.
    runless = app_client.post("/cas/tokens", {"direction": "upload"})
    assert runless.status_code == 409 and "is inline" in runless.json()["detail"]

    pushed = _push(app_client, init, _inline_statement(app_client, init))
    assert pushed.status_code == 200, pushed.text
    (material,) = pushed.json()["materials"]
    assert material["inline"] is True and material["uploaded"] is False
    assert material["value"] is None and material["cas_backend"] is None
    with app_client.sessions() as session:
        row = session.scalar(select(Material).where(Material.run_id == init["run"]["id"]))
        assert row is not None and row.inline and row.value is None

    digest = f"sha256:{DOC_HEX}"
    download = app_client.post("/cas/tokens", {"direction": "download", "digest": digest})
    assert download.status_code == 200, download.text
    assert download.json()["backend"]["provider"] == "inline"
    got = app_client.client.get(
        f"/cas/v1/blobs/{digest}", headers={"Authorization": f"Bearer {download.json()['token']}"}
    )
    assert got.status_code == 200 and got.content == DOC
    head = app_client.client.head(
        f"/cas/v1/blobs/{digest}", headers={"Authorization": f"Bearer {download.json()['token']}"}
    )
    assert head.status_code == 200 and head.headers["content-length"] == str(len(DOC))
    # Read rules as for every download: another project's robot, another organisation.
    app_client.post("/projects", {"name": "other"})
    scoped = app_client.robot("other-ci", project="other")
    hidden = app_client.post(
        "/cas/tokens", {"direction": "download", "digest": digest}, token=scoped
    )
    assert hidden.status_code == 404
    other = app_client.new_org()
    assert other.post("/cas/tokens", {"direction": "download", "digest": digest}).status_code == 404


def test_push_refuses_bad_inline_content(app_client: Env) -> None:
    init = _start(app_client)
    # No inline backend in the organisation: embedded content is not accepted.
    refused = _push(app_client, init, _inline_statement(app_client, init))
    assert refused.status_code == 422 and "no inline CAS backend" in refused.json()["detail"]
    small = {"name": "small", "provider": "inline", "max_blob_size": 10}
    assert app_client.post("/cas-backends", small).status_code == 201
    too_big = _push(app_client, init, _inline_statement(app_client, init))
    assert too_big.status_code == 422 and "at most 10" in too_big.json()["detail"]
    assert app_client.patch("/cas-backends/small", {"max_blob_size": 1000}).status_code == 200
    forged = _push(app_client, init, _inline_statement(app_client, init, b"other bytes"))
    assert forged.status_code == 422 and "is not sha256:" in forged.json()["detail"]
    run = app_client.get(f"/runs/{init['run']['id']}").json()
    assert run["status"] == "initialized"  # nothing stored by the refused pushes
    assert _push(app_client, init, _inline_statement(app_client, init)).status_code == 200


def test_inline_cap_limits(app_client: Env) -> None:
    over = app_client.post(
        "/cas-backends", {"name": "big", "provider": "inline", "max_blob_size": 2_000_001}
    )
    assert over.status_code == 400 and "inline backend" in over.json()["detail"]
    ok = app_client.post(
        "/cas-backends", {"name": "big", "provider": "inline", "max_blob_size": 2_000_000}
    )
    assert ok.status_code == 201
    assert app_client.patch("/cas-backends/big", {"max_blob_size": 3_000_000}).status_code == 400
