"""The dashboard's runs, run detail, contracts, findings and audit pages, in Debian's
chromium (Playwright), over history the installed CLI made against a server process.

History: contract shop-release (revision 1 asks for a CycloneDX SBOM with sbom-freshness);
shop/api pushes a compliant run on revision 1; revision 2 adds sbom-banned-licenses
(advisory), and shop/web pushes on it a run with that violation; docs/site, on the empty
contract, pushes a run that opens an ``unmanaged`` finding.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from tests.browser import browser, page, screenshot, sign_in_with_token
from tests.e2e.conftest import Cli, Server, cli_for, start_server

__all__ = ["browser", "page"]  # fixtures

ASSETS = Path(__file__).parent.parent / "assets"
SBOM = ASSETS / "materials" / "cyclonedx-1.6.json"
CONTRACT_V1 = ASSETS / "e2e" / "contract-dashboard-v1.yaml"
CONTRACT_V2 = ASSETS / "e2e" / "contract-dashboard-v2.yaml"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, Any]]]:
    """A server with the module docstring's history; the runs by workflow and a viewer's
    token."""
    tmp = tmp_path_factory.mktemp("dashboard")
    for server in start_server(tmp, run_expiry_seconds=600):
        cli = cli_for(server, tmp)
        cli("project", "create", "--name", "shop")
        cli("workflow", "contract", "create", "--name", "shop-release", "-f", str(CONTRACT_V1))
        for name in ("api", "web"):
            cli("workflow", "create", "--name", name, "--project", "shop",
                "--contract", "shop-release")  # fmt: skip
        _attest(cli, "api", "shop")
        cli("workflow", "contract", "update", "--name", "shop-release", "-f", str(CONTRACT_V2))
        _attest(cli, "web", "shop")
        cli("attestation", "init", "--workflow", "site", "--project", "docs")
        cli("attestation", "push")
        runs = cli.json("workflow", "run", "list")
        assert isinstance(runs, list)
        viewer = cli.json("api-token", "create", "--personal", "--role", "viewer",
                          "--name", "auditor-view")  # fmt: skip
        assert isinstance(viewer, dict)
        yield (
            server,
            {
                "runs": {r["workflow"]: r for r in runs},
                "viewer": str(viewer["token"]),
            },
        )


def _attest(cli: Cli, workflow: str, project: str) -> None:
    cli("attestation", "init", "--workflow", workflow, "--project", project)
    cli("attestation", "add", "--name", "sbom", "--value", str(SBOM))
    cli("attestation", "push")


def test_runs_filtered_then_a_run_with_its_evidence(
    history: tuple[Server, dict[str, Any]], page: Page
) -> None:
    server, facts = history
    web_run = facts["runs"]["web"]
    sign_in_with_token(page, server.url, server.owner_token)
    page.get_by_role("link", name="Runs").click()
    expect(page.locator("table.runs tbody tr")).to_have_count(3)
    page.get_by_label("Workflow").fill("web")
    page.get_by_label("Project").fill("shop")
    page.get_by_label("Status").select_option("succeeded")
    page.get_by_role("button", name="Filter").click()
    # the empty fields are dropped: one address per filter
    expect(page).to_have_url(f"{server.url}/runs?workflow=web&project=shop&status=succeeded")
    expect(page.locator("table.runs tbody tr")).to_have_count(1)
    screenshot(page, "runs-filtered")
    page.get_by_role("link", name=f"Run {web_run['id']}").click()
    expect(page).to_have_url(f"{server.url}/runs/{web_run['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(web_run["id"])

    # Materials: the SBOM's summary and its blob, streamed from the CAS.
    row = page.locator("#materials ~ table tbody tr", has_text="sbom")
    expect(row).to_contain_text("SBOM_CYCLONEDX_JSON")
    expect(row).to_contain_text(re.compile(r"\d+ components"))
    with page.expect_download() as pending:
        row.get_by_role("link", name="Download sbom").click()
    download = pending.value
    assert download.suggested_filename == SBOM.name
    fetched = Path(download.path()).read_bytes()
    assert hashlib.sha256(fetched).hexdigest() == hashlib.sha256(SBOM.read_bytes()).hexdigest()
    digest = "sha256:" + hashlib.sha256(SBOM.read_bytes()).hexdigest()
    answer = page.request.get(f"{server.url}/runs/{web_run['id']}/materials/{digest}")
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["content-disposition"].startswith('attachment; filename="cyclonedx')

    # Policy results: freshness passed, the banned licence failed with its violation.
    policies = page.locator("#policies ~ table tbody")
    expect(policies.locator("tr", has_text="sbom-freshness")).to_contain_text("passed")
    banned = policies.locator("tr", has_text="sbom-banned-licenses")
    expect(banned).to_contain_text("failed")
    expect(banned).to_contain_text("starlette@0.41.2")

    # Verification: recorded at push, and checked again against the trusted root.
    verification = page.locator("section", has=page.locator("#verification"))
    expect(verification).to_contain_text("verified")
    expect(verification).to_contain_text(f"/runs/{web_run['id']}")  # the certificate's SAN
    expect(verification).to_contain_text("Verified against the organisation's trusted root")
    checks = verification.get_by_role("list", name="Checks passed")
    for check in ("signature", "certificate chain", "identity", "transparency log"):
        expect(checks).to_contain_text(check)

    # The signed documents, pretty-printed, with raw downloads; opened from the keyboard
    # (each viewer: its summary, its download link, its scrollable text, then the next).
    page.get_by_text("in-toto statement", exact=True).focus()
    for title, expected in (
        ("in-toto statement", "predicateType"),
        ("Sigstore bundle", "dsseEnvelope"),
        ("Verification summary (VSA)", "verificationResult"),
    ):
        expect(page.get_by_text(title, exact=True)).to_be_focused()
        page.keyboard.press("Enter")
        viewer = page.get_by_label(title, exact=True)
        expect(viewer).to_contain_text(expected)
        page.keyboard.press("Tab")
        expect(page.locator(":focus")).to_have_text(re.compile(r"^Download the .*\(JSON\)$"))
        page.keyboard.press("Tab")
        expect(viewer).to_be_focused()
        page.keyboard.press("Tab")
    statement = page.request.get(f"{server.url}/runs/{web_run['id']}/statement.json")
    assert statement.ok and statement.json()["_type"] == "https://in-toto.io/Statement/v1"
    vsa = page.request.get(f"{server.url}/runs/{web_run['id']}/vsa.json")
    assert vsa.ok and "dsseEnvelope" in vsa.json()
    screenshot(page, "run-detail")

    # A unique id prefix is the run's page too (redirected to its own URL).
    page.goto(f"{server.url}/runs/{web_run['id'][:8]}")
    expect(page).to_have_url(f"{server.url}/runs/{web_run['id']}")
    page.goto(f"{server.url}/runs?since=last+tuesday")
    expect(page.get_by_role("alert")).to_contain_text("neither a duration nor a date")


def test_contract_revisions_diff_and_rollout(
    history: tuple[Server, dict[str, Any]], page: Page
) -> None:
    server, _ = history
    sign_in_with_token(page, server.url, server.owner_token)
    page.get_by_role("link", name="Contracts").click()
    page.get_by_role("link", name="shop-release", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contract shop-release")
    expect(page.get_by_label("Contract revision 2")).to_contain_text("sbom-banned-licenses")
    screenshot(page, "contract")
    page.get_by_role("link", name="Compare with revision 1").click()
    expect(page).to_have_url(f"{server.url}/contracts/shop-release/diff?from=1&to=2")
    expect(page.locator(".changes")).to_contain_text("sbom-banned-licenses")
    diff = page.get_by_role("table", name=re.compile("Revision 1 .left. and revision 2"))
    added = diff.locator("tbody tr.diff-added")
    expect(added.first).to_contain_text("added")
    expect(added.filter(has_text="sbom-banned-licenses")).to_have_count(1)
    expect(diff.locator("tbody tr.diff-equal").first).to_contain_text("apiVersion")
    screenshot(page, "contract-diff")

    page.goto(f"{server.url}/contracts/shop-release/rollout")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    api = rows.filter(has_text="shop / api")
    expect(api).to_contain_text("revision 1")
    expect(api).to_contain_text("lagging")
    expect(rows.filter(has_text="shop / web")).to_contain_text("no revision yet")
    screenshot(page, "contract-rollout")


def test_acknowledge_a_finding_then_the_audit_log(
    history: tuple[Server, dict[str, Any]], page: Page
) -> None:
    server, _ = history
    sign_in_with_token(page, server.url, server.owner_token)
    page.get_by_role("link", name="Findings").click()
    page.get_by_label("Kind").select_option("unmanaged")
    page.get_by_label("Workflow").fill("site")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("table.findings tbody tr", has_text="docs / site")
    expect(row).to_have_count(1)
    screenshot(page, "findings")
    row.get_by_label(re.compile("Reason to acknowledge")).fill("docs need no evidence")
    row.get_by_role("button", name="Acknowledge").click()
    expect(page).to_have_url(re.compile(r"/findings\?kind=unmanaged&state=open&workflow=site"))
    expect(row).to_contain_text("docs need no evidence")
    expect(row.get_by_role("button", name="Acknowledge")).to_have_count(0)

    page.get_by_role("link", name="Audit log").click()
    events = page.locator("table.audit tbody tr")
    expect(events.filter(has_text="finding.acknowledge")).to_contain_text("docs need no evidence")
    page.get_by_label("Action").fill("contract")
    page.get_by_role("button", name="Filter").click()
    expect(events.filter(has_text="contract.update")).to_have_count(1)
    expect(events.filter(has_text="shop-release")).to_have_count(2)  # create, update
    expect(events.filter(has_not_text="contract.")).to_have_count(0)
    screenshot(page, "audit")


def test_a_viewer_reads_but_neither_acknowledges_nor_sees_the_audit_log(
    history: tuple[Server, dict[str, Any]], page: Page
) -> None:
    server, facts = history
    sign_in_with_token(page, server.url, facts["viewer"])
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    page.goto(f"{server.url}/findings?state=all")
    expect(page.locator("table.findings tbody tr").first).to_be_visible()
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    answer = page.goto(f"{server.url}/audit")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Forbidden")
    screenshot(page, "audit-refused")
    refused = page.request.post(
        f"{server.url}/findings/00000000/acknowledge", form={"reason": "x", "csrf": "bad"}
    )
    assert refused.status == 403 and "security token" in refused.text()
