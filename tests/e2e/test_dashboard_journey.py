"""Issue 18's "Done when", in Debian's chromium (Playwright) against a real server: one
continuous journey by clicking (sign in → overview → a workflow → its last run → download a
material, its bytes checked by sha256), and the same pages from the keyboard alone (Tab
reaches the navigation, the filter form and the block form, each with a visible focus ring).

History, made with the installed CLI: shop/api pushes a run with a CycloneDX 1.5 SBOM, then
a newer run with a CycloneDX 1.6 SBOM (so "its last run" is the second); docs/site is created
and never runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from tests.browser import browser, page, screenshot, sign_in_with_token
from tests.e2e.conftest import Server, cli_for, start_server

__all__ = ["browser", "page"]  # fixtures

MATERIALS = Path(__file__).parent.parent / "assets" / "materials"
OLDER, NEWER = MATERIALS / "cyclonedx-1.5.json", MATERIALS / "cyclonedx-1.6.json"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """A server with the module docstring's history, and the id of shop/api's last run."""
    tmp = tmp_path_factory.mktemp("journey")
    for server in start_server(tmp, run_expiry_seconds=600):
        cli = cli_for(server, tmp)
        for sbom in (OLDER, NEWER):
            cli("attestation", "init", "--workflow", "api", "--project", "shop")
            cli("attestation", "add", "--name", "sbom", "--kind", "SBOM_CYCLONEDX_JSON",
                "--value", str(sbom))  # fmt: skip
            cli("attestation", "push")
        cli("workflow", "create", "--name", "site", "--project", "docs")
        runs = cli.json("workflow", "run", "list", "--project", "shop", "--workflow", "api")
        assert isinstance(runs, list) and len(runs) == 2
        yield server, str(runs[0]["id"])  # newest first


def test_sign_in_overview_workflow_last_run_and_download_by_clicking(
    shop: tuple[Server, str], page: Page
) -> None:
    server, last = shop
    page.goto(server.url)  # the only address typed: everything after is a click
    expect(page).to_have_url(f"{server.url}/sign-in?next=%2F")
    page.get_by_label("API token", exact=True).fill(server.owner_token)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("acme")
    expect(page.get_by_role("img", name="Runs per day, last 30 days")).to_be_visible()
    screenshot(page, "journey-1-overview")

    page.get_by_role("link", name="shop", exact=True).click()  # its compliance row
    expect(page).to_have_url(f"{server.url}/workflows?project=shop")
    screenshot(page, "journey-2-workflows")
    page.get_by_role("link", name="shop/api").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("api")
    screenshot(page, "journey-3-workflow")

    page.locator("#last-run").click()
    expect(page).to_have_url(f"{server.url}/runs/{last}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(last)
    row = page.locator("#materials ~ table tbody tr", has_text="sbom")
    expect(row).to_contain_text("SBOM_CYCLONEDX_JSON")
    screenshot(page, "journey-4-last-run")

    with page.expect_download() as pending:
        row.get_by_role("link", name="Download sbom").click()
    download = pending.value
    fetched = Path(download.path()).read_bytes()
    assert hashlib.sha256(fetched).hexdigest() == hashlib.sha256(NEWER.read_bytes()).hexdigest()
    assert download.suggested_filename == NEWER.name


def _tab_to(page: Page, target: Locator, *, most: int = 40) -> None:
    """Press Tab until ``target`` has the focus (at most ``most`` times), and check that the
    focus is visible: the focused element draws an outline."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            ring = target.evaluate(
                "el => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth] }"
            )
            assert ring[0] != "none" and ring[1] != "0px", ring
            return
    raise AssertionError(f"{most} presses of Tab never reached {target}")


def test_the_navigation_the_filter_form_and_the_block_form_from_the_keyboard(
    shop: tuple[Server, str], page: Page
) -> None:
    server, _ = shop
    sign_in_with_token(page, server.url, server.owner_token)
    nav = page.get_by_role("navigation", name="Main")
    _tab_to(page, nav.get_by_role("link", name="Workflows"))
    screenshot(page, "keyboard-nav-focus")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.url}/workflows")

    _tab_to(page, page.get_by_label("Project"))
    page.keyboard.type("shop")
    _tab_to(page, page.get_by_role("button", name="Filter"))
    screenshot(page, "keyboard-filter-focus")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.url}/workflows?project=shop")  # empty status dropped
    expect(page.get_by_role("link", name="docs/site")).to_have_count(0)

    _tab_to(page, page.get_by_role("link", name="shop/api"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("api")
    _tab_to(page, page.get_by_label("Reason"))
    page.keyboard.type("frozen for the audit")
    _tab_to(page, page.get_by_role("button", name="Block workflow"))
    screenshot(page, "keyboard-block-focus")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("frozen for the audit")
    _tab_to(page, page.get_by_role("button", name="Unblock workflow"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Block workflow")).to_be_visible()
