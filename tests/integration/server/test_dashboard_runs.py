"""The dashboard's run page and material downloads through the app (its session cookie, its
CSRF token): bytes from the CAS under the API's download rules, the verification checked
again, the raw documents. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run
from tests.integration.server.test_cas_inline import DOC, DOC_HEX, _inline_statement
from tests.integration.server.test_push import (
    BLOB,
    BLOB_DIGEST,
    _materials,
    _sign,
    _start,
    _statement,
    _upload,
)

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


@pytest.fixture
def browser(app_and_client: tuple[Any, TestClient]) -> Iterator[TestClient]:
    """A client of its own (its own cookie jar), as a browser would be."""
    with TestClient(app_and_client[0], raise_server_exceptions=False) as client:
        yield client


def _sign_in(browser: TestClient, token: str) -> None:
    form = browser.get("/sign-in")
    csrf = CSRF.search(form.text)
    assert csrf, form.text
    signed = browser.post(
        "/sign-in", data={"token": token, "csrf": csrf.group(1)}, follow_redirects=False
    )
    assert signed.status_code == 303, signed.text


def _pushed(env: Env, *, first: bool = True) -> str:
    """A pushed run of p/build with one uploaded material (``first``: set the workflow up)."""
    init = _start(env) if first else dict(init_run(env).json())
    run_id = str(init["run"]["id"])
    _upload(env, run_id)
    bundle = _sign(env, init, _statement(env, init))
    reply = env.post(f"/runs/{run_id}/attestation", {"bundle": bundle, "materials": _materials()})
    assert reply.status_code == 200, reply.text
    return run_id


def test_a_run_page_and_its_material_download(app_client: Env, browser: TestClient) -> None:
    run_id = _pushed(app_client)
    _sign_in(browser, app_client.token)
    page = browser.get(f"/runs/{run_id}")
    assert page.status_code == 200
    assert "Verified against the organisation's trusted root." in page.text
    for check in ("certificate chain", "identity", "timestamp", "transparency log"):
        assert f"</span> {check}</li>" in page.text
    assert f'href="/runs/{run_id}/materials/sha256:{BLOB_DIGEST}"' in page.text

    blob = browser.get(f"/runs/{run_id}/materials/sha256:{BLOB_DIGEST}")
    assert blob.status_code == 200 and blob.content == BLOB
    assert blob.headers["content-type"] == "application/json"  # bom.json, an ARTIFACT
    assert blob.headers["content-disposition"] == (
        "attachment; filename=\"bom.json\"; filename*=UTF-8''bom.json"
    )
    audit = app_client.get("/audit", params={"action": "cas.grant"}).json()["items"]
    assert audit[0]["resource"] == f"sha256:{BLOB_DIGEST}"
    assert audit[0]["data"] == {"direction": "download"}

    statement = browser.get(f"/runs/{run_id}/statement.json")
    assert statement.json()["predicate"]["workflow"]["runID"] == run_id
    assert browser.get(f"/runs/{run_id}/bundle.json").json()["dsseEnvelope"]
    assert browser.get(f"/runs/{run_id[:8]}", follow_redirects=False).headers["location"] == (
        f"/runs/{run_id}"
    )


def test_downloads_follow_the_read_rules(app_client: Env, browser: TestClient) -> None:
    run_id = _pushed(app_client)
    other_run = _pushed(app_client, first=False)  # the same blob, referenced by a second run
    # A digest the run does not reference is not served through it.
    _sign_in(browser, app_client.token)
    missing = browser.get(f"/runs/{run_id}/materials/sha256:{'0' * 64}")
    assert missing.status_code == 404 and "no stored material" in missing.text
    assert browser.get(f"/runs/{other_run}/materials/sha256:{BLOB_DIGEST}").content == BLOB
    bad = browser.get(f"/runs/{run_id}/materials/md5:abc")
    assert bad.status_code == 400
    # Another organisation's owner sees neither the run nor its blob.
    stranger = app_client.new_org()
    browser.cookies.clear()
    _sign_in(browser, stranger.token)
    hidden = browser.get(f"/runs/{run_id}/materials/sha256:{BLOB_DIGEST}")
    assert hidden.status_code == 404 and "not found" in hidden.text
    assert BLOB not in hidden.content
    assert browser.get(f"/runs/{run_id}").status_code == 404
    # Signed out: the sign-in page, coming back here.
    browser.cookies.clear()
    away = browser.get(f"/runs/{run_id}/bundle.json", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"].startswith("/sign-in?next=")


def test_an_inline_material_downloads_from_the_statement(
    app_client: Env, browser: TestClient
) -> None:
    added = app_client.post(
        "/cas-backends", {"name": "small", "provider": "inline", "default": True}
    )
    assert added.status_code == 201, added.text
    init = _start(app_client)
    statement = _inline_statement(app_client, init)
    bundle = _sign(app_client, init, statement)
    run_id = init["run"]["id"]
    pushed = app_client.post(f"/runs/{run_id}/attestation", {"bundle": bundle})
    assert pushed.status_code == 200, pushed.text
    _sign_in(browser, app_client.token)
    got = browser.get(f"/runs/{run_id}/materials/sha256:{DOC_HEX}")
    assert got.status_code == 200 and got.content == DOC
    assert got.headers["content-type"] == "application/octet-stream"  # ARTIFACT, no file name
