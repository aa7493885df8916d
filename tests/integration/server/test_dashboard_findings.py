"""The dashboard's findings and audit pages through the app: acknowledging with a reason
(owners and admins, CSRF), the audit log for owners and admins only, the contract diff and
rollout pages. SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run, read
from tests.integration.server.test_dashboard_runs import CSRF, _sign_in, browser
from tests.integration.server.test_roles import _user

__all__ = ["browser"]  # fixture


def _unmanaged(env: Env) -> str:
    """The id of the ``unmanaged`` finding a run of an implicitly created workflow opens."""
    assert init_run(env, project="docs", workflow="site").status_code == 201
    items = env.get("/findings", params={"kind": "unmanaged", "workflow": "site"}).json()
    (finding,) = items["items"]
    return str(finding["id"])


def test_an_admin_acknowledges_a_member_may_not(app_client: Env, browser: TestClient) -> None:
    finding_id = _unmanaged(app_client)
    _, _, member = _user(app_client, "member")
    _sign_in(browser, member)
    listed = browser.get("/findings", params={"kind": "unmanaged"})
    assert listed.status_code == 200 and f'id="finding-{finding_id}"' in listed.text
    assert "Acknowledge</button>" not in listed.text
    csrf = CSRF.search(listed.text)
    assert csrf
    form = {"reason": "known", "csrf": csrf.group(1)}
    refused = browser.post(f"/findings/{finding_id}/acknowledge", data=form)
    assert refused.status_code == 403

    browser.cookies.clear()
    _, _, admin = _user(app_client, "admin")
    _sign_in(browser, admin)
    listed = browser.get("/findings", params={"workflow": "site"})
    assert f'action="/findings/{finding_id}/acknowledge"' in listed.text
    csrf = CSRF.search(listed.text)
    assert csrf
    stale = browser.post(f"/findings/{finding_id}/acknowledge", data={"reason": "x", "csrf": "0"})
    assert stale.status_code == 403 and "security token" in stale.text
    back = "/findings?workflow=site"
    done = browser.post(
        f"/findings/{finding_id}/acknowledge",
        data={"reason": "docs need <no> evidence", "csrf": csrf.group(1), "back": back},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == back
    (finding,) = app_client.get("/findings", params={"workflow": "site"}).json()["items"]
    assert finding["acknowledged_reason"] == "docs need <no> evidence"
    assert "docs need &lt;no&gt; evidence" in browser.get(back).text  # escaped
    away = browser.post(
        f"/findings/{finding_id}/acknowledge",
        data={"reason": "again", "csrf": csrf.group(1), "back": "//evil.example"},
        follow_redirects=False,
    )
    assert away.headers["location"] == "/"  # never off the site


def test_the_audit_log_is_for_owners_and_admins(app_client: Env, browser: TestClient) -> None:
    _unmanaged(app_client)
    _, _, viewer = _user(app_client, "viewer")
    _sign_in(browser, viewer)
    assert 'href="/audit"' not in browser.get("/findings").text
    refused = browser.get("/audit")
    assert refused.status_code == 403 and "<h1>Forbidden</h1>" in refused.text

    browser.cookies.clear()
    _sign_in(browser, app_client.token)
    log = browser.get("/audit", params={"action": "workflow"})
    assert log.status_code == 200
    actions = re.findall(r"<td><code>([a-z_.]+)</code></td>", log.text)
    assert actions and all(a.startswith("workflow.") for a in actions)
    assert "docs/site" in log.text
    bad = browser.get("/audit", params={"since": "last tuesday"})
    assert bad.status_code == 400 and "neither a duration nor a date" in html.unescape(bad.text)


def test_contract_diff_and_rollout_pages(app_client: Env, browser: TestClient) -> None:
    raw = read("contract.yaml")
    assert app_client.post("/contracts", {"name": "rel", "raw": raw}).status_code == 201
    changed = raw.replace("      optional: true\n", "", 1)  # the binary becomes required
    assert changed != raw
    reply = app_client.put("/contracts/rel", {"raw": changed})
    assert reply.status_code == 200 and reply.json()["revision"] == 2, reply.text
    _sign_in(browser, app_client.token)
    diff = browser.get("/contracts/rel/diff", params={"from": 1, "to": 2})
    assert diff.status_code == 200
    removed = re.findall(r'<tr class="diff-removed">(.*?)</tr>', diff.text, re.S)
    assert len(removed) == 1 and "optional: true" in removed[0]
    assert "binary" in diff.text and "new requirement" in diff.text
    assert "<caption>Revision 1 (left) and revision 2 (right), line by line</caption>" in diff.text
    backwards = browser.get("/contracts/rel/diff", params={"from": 2, "to": 1})
    assert backwards.status_code == 400 and "cannot diff revision 2 to 1" in backwards.text
    assert browser.get("/contracts/rel", params={"revision": 3}).status_code == 404
    rollout = browser.get("/contracts/rel/rollout")
    assert rollout.status_code == 200 and "No workflow uses this contract." in rollout.text
    assert browser.get("/contracts/nope/rollout").status_code == 404
