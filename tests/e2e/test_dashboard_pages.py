"""The dashboard's overview and workflow pages in Debian's chromium (Playwright), against a real
server: an owner signs in with a token, goes from the overview to a workflow, blocks it, and
the CLI is then refused; a person signs in through the identity provider (authorization code
flow with PKCE), switches between their two organisations, and as a viewer sees no block
button and is refused when they post the form anyway. Screenshots of each page."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.browser import browser, page, screenshot, sign_in_with_token
from tests.e2e.conftest import CLI, Cli, Server, _base_env, start_server
from tests.oidc_provider import OidcProvider

__all__ = ["browser", "page"]  # fixtures


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcProvider]:
    with OidcProvider() as provider:
        yield provider


@pytest.fixture(scope="module")
def dash(idp: OidcProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that trusts ``idp`` for people's sign-in (provider ``corp``, a public client)."""
    corp = {"name": "corp", "issuer": idp.issuer, "client_id": idp.client_id}
    env = {"CHAINPROOF_IDENTITY_PROVIDERS": json.dumps([corp])}
    yield from start_server(
        tmp_path_factory.mktemp("server"), run_expiry_seconds=600, extra_env=env
    )


def _owner(server: Server, tmp_path: Path) -> Cli:
    env = {**_base_env(tmp_path), "CHAINPROOF_URL": server.url}
    return Cli(env={**env, "CHAINPROOF_TOKEN": server.owner_token}, cwd=tmp_path)


def _last_run(cli: Cli, project: str, workflow: str) -> str:
    runs = cli.json("workflow", "run", "list", "--project", project, "--workflow", workflow)
    assert isinstance(runs, list) and runs
    return str(runs[0]["id"])


def test_an_owner_goes_from_the_overview_to_a_workflow_and_blocks_it(
    dash: Server, page: Page, tmp_path: Path
) -> None:
    cli = _owner(dash, tmp_path)
    for _ in range(2):
        cli("attestation", "init", "--workflow", "api", "--project", "shop")
        cli("attestation", "push")
    cli("attestation", "init", "--workflow", "web", "--project", "shop")
    cli("attestation", "reset", "--trigger", "failure", "--reason", "tests failed")
    cli("workflow", "create", "--name", "site", "--project", "docs", "--team", "docs")
    last = _last_run(cli, "shop", "api")

    sign_in_with_token(page, dash.url, dash.owner_token)
    expect(page.get_by_role("heading", level=1)).to_have_text("acme")
    expect(page.get_by_role("img", name="Runs per day, last 30 days")).to_be_visible()
    expect(page.locator(".totals")).to_contain_text("integrated")
    expect(page.get_by_role("link", name="shop", exact=True)).to_be_visible()
    screenshot(page, "overview")

    page.get_by_role("link", name="shop", exact=True).click()  # its compliance row
    expect(page).to_have_url(f"{dash.url}/workflows?project=shop")
    expect(page.get_by_role("link", name="docs/site")).to_have_count(0)
    screenshot(page, "workflows")
    page.get_by_role("link", name="shop/api").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("api")
    expect(page.locator("#last-run")).to_have_attribute("href", f"/runs/{last}")
    expect(page.get_by_role("img", name="Last 2 finished runs")).to_be_visible()
    screenshot(page, "workflow")

    page.get_by_label("Reason").fill("CVE-2026-4242 in the base image")
    page.get_by_role("button", name="Block workflow").click()
    expect(page.get_by_role("status")).to_contain_text("CVE-2026-4242 in the base image")
    screenshot(page, "workflow-blocked")
    refused = cli("attestation", "init", "--workflow", "api", "--project", "shop", check=False)
    assert refused.returncode != 0
    assert "workflow shop/api is blocked: CVE-2026-4242 in the base image" in refused.stderr

    page.get_by_role("button", name="Unblock workflow").click()
    expect(page.get_by_role("button", name="Block workflow")).to_be_visible()
    cli("attestation", "init", "--workflow", "api", "--project", "shop")
    cli("attestation", "reset", "--trigger", "cancellation")

    page.goto(f"{dash.url}/workflows?project=docs")
    page.get_by_role("link", name="docs/site").click()
    expect(
        page.get_by_text("chainproof attestation init --workflow site --project docs")
    ).to_be_visible()
    expect(page.get_by_text("uses: chainproof/chainproof@")).to_be_visible()
    screenshot(page, "workflow-empty")

    missing = page.goto(f"{dash.url}/no/such/page")
    assert missing is not None and missing.status == 404
    expect(page.get_by_role("alert")).to_have_text("there is no page here")
    screenshot(page, "not-found")


def _second_org(server: Server, tmp_path: Path, name: str) -> str:
    """`server init` again on the server's data dir: organisation ``name``; its owner token."""
    made = subprocess.run(
        [CLI, "server", "init", "--data-dir", str(server.data_dir), "--org", name, "-o", "json"],
        env=_base_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return str(json.loads(made.stdout)["token"])


def test_a_person_signs_in_with_oidc_switches_org_and_as_viewer_cannot_block(
    dash: Server, idp: OidcProvider, page: Page, tmp_path: Path
) -> None:
    owner = _owner(dash, tmp_path)
    owner("workflow", "create", "--name", "batch", "--project", "ops")
    beta = _second_org(dash, tmp_path, "beta")
    owner("org", "invite", "create", "--email", "vera@example.com", "--role", "viewer")
    owner("org", "invite", "create", "--email", "vera@example.com", "--role", "admin",
          token=beta)  # fmt: skip
    idp.add_person("vera", "vera@example.com")
    idp.signed_in = "vera"

    page.goto(f"{dash.url}/workflows")
    expect(page).to_have_url(f"{dash.url}/sign-in?next=%2Fworkflows")
    page.get_by_role("link", name="Sign in with corp").click()
    expect(page).to_have_url(f"{dash.url}/workflows")
    asked = idp.authorize_requests[-1]
    assert asked["code_challenge_method"] == "S256" and asked["nonce"] and asked["state"]
    assert asked["redirect_uri"] == f"{dash.url}/sign-in/oidc/corp/callback"
    switcher = page.get_by_label("Organisation")
    expect(switcher.locator("option")).to_have_text(["acme (viewer)", "beta (admin)"])
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["cp_session"]["httpOnly"] and "cp_oidc" not in cookies
    screenshot(page, "signed-in-with-oidc")

    page.get_by_role("link", name="ops/batch").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("batch")
    expect(page.get_by_role("button", name="Block workflow")).to_have_count(0)
    screenshot(page, "workflow-as-viewer")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    posted = page.request.post(
        page.url + "/block", form={"reason": "not mine to block", "csrf": csrf or ""}
    )
    assert posted.status == 403 and "admin" in posted.text()
    shown = owner.json("workflow", "describe", "--name", "batch", "--project", "ops")
    assert isinstance(shown, dict) and shown["blocked"] is False

    switcher.select_option("beta")
    expect(page.get_by_role("heading", level=1)).to_have_text("beta")
    expect(page.get_by_title("your role")).to_have_text("admin")
    screenshot(page, "overview-second-org")


def test_a_sign_in_the_provider_refuses_comes_back_to_the_form(
    dash: Server, idp: OidcProvider, page: Page
) -> None:
    idp.signed_in = None  # nobody signed in at the provider: it answers access_denied
    page.goto(f"{dash.url}/sign-in")
    page.get_by_role("link", name="Sign in with corp").click()
    expect(page.get_by_role("alert")).to_contain_text("corp did not sign you in (access_denied)")
    forged = page.goto(f"{dash.url}/sign-in/oidc/corp/callback?code=x&state=y")
    assert forged is not None and forged.status == 401
    expect(page.get_by_role("alert")).to_contain_text("stale or was not started here")
    assert "cp_session" not in {c["name"] for c in page.context.cookies()}
