"""The overview and workflow pages over real SQLite and PostgreSQL: what each figure shows,
the filters and keyset pages, block and unblock through the form, roles, HTML 404s."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.integration.conftest import Env
from tests.integration.server import history as h
from tests.oidc_provider import OidcProvider

from chainproof.server.db import WorkflowRun
from chainproof.server.db.base import utcnow
from chainproof.server.identity_provider import IdentityProvider
from chainproof.server.services import dashboard, tokens

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def browser(app_client: Env) -> Iterator[TestClient]:
    """A client of its own (its own cookies), signed in with the organisation's owner token."""
    with TestClient(app_client.client.app, raise_server_exceptions=False) as client:
        _sign_in(client, app_client.token)
        yield client


def _sign_in(client: TestClient, secret: str) -> None:
    form = client.get("/sign-in")
    reply = client.post(
        "/sign-in",
        data={"token": secret, "csrf": _csrf(form.text), "next": "/"},
        follow_redirects=False,
    )
    assert reply.status_code == 303, reply.text


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, html
    return found.group(1)


def _history(env: Env) -> dict[str, Any]:
    """shop/api: violated, failed, blocked (newest last); shop/web and docs/site never ran."""
    h.workflow(env, "shop", "api", h.ADVISORY, team="payments")
    violated = h.push(env, h.init(env, "shop", "api"))
    h.run(env, "shop", "api", "failed")
    assert env.put("/contracts/shop-api", {"raw": h.GATED}).status_code == 200
    blocked = h.run(env, "shop", "api", "pushed")
    h.workflow(env, "shop", "web", h.PLAIN)
    h.workflow(env, "docs", "site", h.PLAIN)
    ids = {w["name"]: w["id"] for w in env.get("/workflows").json()["items"]}
    return {"violated": violated, "blocked": blocked, "ids": ids}


def test_the_overview_shows_totals_chart_projects_findings_and_violations(
    app_client: Env, browser: TestClient
) -> None:
    made = _history(app_client)
    page = browser.get("/")
    assert page.status_code == 200, page.text
    html = page.text
    assert '<a href="/workflows?status=integrated">1</a>' in html
    assert '<a href="/workflows">3</a>' in html
    assert 'role="img"' in html and "Runs per day, last 30 days" in html
    today = utcnow().date().isoformat()
    row = re.search(rf"<th scope=\"row\">{today}</th>(.*?)</tr>", html)
    assert row and re.findall(r"<td>(\d+)</td>", row.group(1)) == ["1", "1", "1"]
    assert '<a href="/workflows?project=shop">shop</a>' in html
    assert f'href="/runs/{made["blocked"]["id"]}"' in html  # newest violation first
    assert f'href="/runs/{made["violated"]["id"]}"' in html
    violations = html.split('id="violations-h"', 1)[1]
    assert violations.count("<code>sbom-banned-licenses</code>: ") == 2


def test_runs_per_day_counts_by_start_day_and_outcome(app_client: Env) -> None:
    _history(app_client)
    with app_client.sessions.begin() as session:  # the failed run started 3 days ago
        session.execute(
            update(WorkflowRun)
            .where(WorkflowRun.org_id == app_client.org["id"], WorkflowRun.status == "failed")
            .values(created_at=utcnow() - timedelta(days=3))
        )
    actor = _owner(app_client)
    with app_client.sessions() as session:
        days = dashboard.runs_per_day(session, actor, days=5)
    assert [d["day"] for d in days][-1] == utcnow().date() and len(days) == 5
    counts = [(d["succeeded"], d["failed"], d["blocked"]) for d in days]
    assert counts == [(0, 0, 0), (0, 1, 0), (0, 0, 0), (0, 0, 0), (1, 0, 1)]

    with app_client.sessions.begin() as session:  # the blocked run: moved to 3 days ago too
        session.execute(
            update(WorkflowRun)
            .where(WorkflowRun.org_id == app_client.org["id"], WorkflowRun.status == "blocked")
            .values(created_at=utcnow() - timedelta(days=3))
        )
    with app_client.sessions() as session:
        again = dashboard.runs_per_day(session, actor, days=5)
    counts = [(d["succeeded"], d["failed"], d["blocked"]) for d in again]
    # Today is counted afresh; settled days are kept for SETTLED_SECONDS (a while stale).
    assert counts == [(0, 0, 0), (0, 1, 0), (0, 0, 0), (0, 0, 0), (1, 0, 0)]
    with app_client.sessions() as session:  # a longer window is another count: all fresh
        longer = dashboard.runs_per_day(session, actor, days=6)
    assert [(d["failed"], d["blocked"]) for d in longer][2] == (1, 1)


def _owner(env: Env) -> Any:
    with env.sessions() as session:
        return tokens.authenticate(session, env.token)


def test_workflows_filter_by_project_and_status_and_page_by_keyset(
    app_client: Env, browser: TestClient
) -> None:
    made = _history(app_client)
    failing = browser.get("/workflows?status=integrated").text
    assert f'href="/workflows/{made["ids"]["api"]}"' in failing
    assert made["ids"]["web"] not in failing
    shop = browser.get("/workflows?project=shop").text
    assert made["ids"]["site"] not in shop and made["ids"]["web"] in shop
    first = browser.get("/workflows?limit=2").text
    assert [made["ids"][n] in first for n in ("site", "api", "web")] == [True, True, False]
    following = re.search(r'href="([^"]+)" rel="next"', first)
    assert following
    second = browser.get(following.group(1).replace("&amp;", "&")).text
    assert made["ids"]["web"] in second and made["ids"]["api"] not in second
    assert 'rel="next"' not in second
    assert browser.get("/workflows?status=nope").status_code == 400


def test_a_workflow_page_shows_its_runs_or_teaches_the_first_one(
    app_client: Env, browser: TestClient
) -> None:
    made = _history(app_client)
    api = browser.get(f"/workflows/{made['ids']['api']}").text
    assert "payments" in api and "revision 2" in api
    assert f'id="last-run" href="/runs/{made["blocked"]["id"]}"' in api
    assert "Last 3 finished runs" in api and "No runs yet" not in api
    never = browser.get(f"/workflows/{made['ids']['web']}").text
    assert "chainproof attestation init --workflow web --project shop" in never
    assert "chainproof attestation push" in never and "uses: chainproof/chainproof@" in never
    other = app_client.new_org()
    with TestClient(app_client.client.app, raise_server_exceptions=False) as stranger:
        _sign_in(stranger, other.token)
        assert stranger.get(f"/workflows/{made['ids']['web']}").status_code == 404


def test_an_owner_blocks_and_unblocks_with_a_reason(app_client: Env, browser: TestClient) -> None:
    made = _history(app_client)
    url = f"/workflows/{made['ids']['api']}"
    csrf = _csrf(browser.get(url).text)
    refused = browser.post(f"{url}/block", data={"reason": "x", "csrf": "stale"})
    assert refused.status_code == 403
    reply = browser.post(f"{url}/block", data={"reason": "CVE-2026-1", "csrf": csrf})
    assert reply.status_code == 200 and "CVE-2026-1" in reply.text
    assert "Unblock workflow" in reply.text
    wf = app_client.get("/workflows/shop/api").json()
    assert wf["block"]["reason"] == "CVE-2026-1"
    again = browser.post(f"{url}/block", data={"reason": "twice", "csrf": csrf})
    assert again.status_code == 409 and "already blocked" in again.text
    lifted = browser.post(f"{url}/unblock", data={"reason": "patched", "csrf": csrf})
    assert lifted.status_code == 200 and "Block workflow" in lifted.text
    assert app_client.get("/workflows/shop/api").json()["blocked"] is False


def test_a_viewer_sees_no_block_button_and_is_refused_if_they_post(app_client: Env) -> None:
    made = _history(app_client)
    viewer = _viewer_session(app_client)
    with TestClient(app_client.client.app, raise_server_exceptions=False) as client:
        _sign_in(client, viewer)
        url = f"/workflows/{made['ids']['api']}"
        page = client.get(url)
        assert page.status_code == 200 and "viewer" in page.text
        assert "Block workflow" not in page.text and "/block" not in page.text
        reply = client.post(f"{url}/block", data={"reason": "no", "csrf": _csrf(page.text)})
        assert reply.status_code == 403
    assert app_client.get("/workflows/shop/api").json()["blocked"] is False


def _viewer_session(env: Env) -> str:
    """A person invited as a viewer, signed in through the identity provider: their secret."""
    app: Any = env.client.app
    before = app.state.settings
    with OidcProvider() as idp:
        corp = IdentityProvider(name="corp", issuer=idp.issuer, client_id=idp.client_id)
        app.state.settings = before.model_copy(update={"identity_providers": [corp]})
        try:
            email = f"viewer-{env.org['name']}@example.com"
            assert env.post("/org/invitations", {"email": email, "role": "viewer"}).is_success
            claims = idp.add_person("vera", email)
            token = idp.mint(claims, audience=idp.client_id)
            reply = env.client.post("/api/v1/auth/sessions", json={"id_token": token})
            assert reply.status_code == 201, reply.text
            return str(reply.json()["token"])
        finally:
            app.state.settings = before


def test_unknown_pages_are_html_for_browsers_and_json_for_the_api(app_client: Env) -> None:
    client = app_client.client
    page = client.get("/no/such/page", headers={"Accept": "text/html,*/*"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "there is no page here" in page.text
    api = client.get("/api/v1/no/such", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    plain = client.get("/no/such/page")
    assert plain.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/workflows?limit=lots", "limit &#39;lots&#39;: input should be a valid integer"),
        ("/workflows?limit=0", "limit &#39;0&#39;: input should be greater than or equal to 1"),
        ("/contracts/shop-api?revision=two", "revision &#39;two&#39;: input should be"),
    ],
)
def test_a_parameter_fastapi_refuses_answers_the_html_error_page(
    app_client: Env, browser: TestClient, path: str, shown: str
) -> None:
    _history(app_client)
    page = browser.get(path)
    assert page.status_code == 400, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert shown in page.text and 'role="alert"' in page.text
    api = app_client.get("/workflows?limit=lots")  # the API still answers a problem document
    assert api.status_code == 422 and api.headers["content-type"] == "application/problem+json"


def test_empty_filter_fields_are_dropped_from_the_address(browser: TestClient) -> None:
    submitted = "/runs?workflow=&project=shop&version=+&status=failed&runner=&since="
    reply = browser.get(submitted, follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/runs?project=shop&status=failed"
    everything_empty = browser.get("/findings?kind=&workflow=", follow_redirects=False)
    assert everything_empty.headers["location"] == "/findings"
    assert (
        browser.get("/runs?project=shop&status=failed", follow_redirects=False).status_code == 200
    )
