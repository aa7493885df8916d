"""The dashboard's sign-in, sign-out and guards, in Debian's chromium (Playwright)."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect
from tests.browser import browser, page, screenshot, sign_in_with_token
from tests.e2e.conftest import Server

__all__ = ["browser", "page"]  # fixtures


def test_a_page_sends_the_signed_out_to_sign_in_and_back(server: Server, page: Page) -> None:
    page.goto(f"{server.url}/?project=shop")
    expect(page).to_have_url(f"{server.url}/sign-in?next=%2F%3Fproject%3Dshop")
    screenshot(page, "sign-in")
    page.get_by_label("API token", exact=True).fill("cp_not_a_token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not accepted")

    sign_in_with_token(page, server.url, server.owner_token)
    expect(page.get_by_role("heading", level=1)).to_have_text("acme")
    expect(page.get_by_text("owner", exact=True)).to_be_visible()
    screenshot(page, "overview-skeleton")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server.url}/sign-in")
    page.goto(f"{server.url}/")
    expect(page).to_have_url(f"{server.url}/sign-in?next=%2F")


def test_the_session_cookie_is_sealed_http_only_and_lax(server: Server, page: Page) -> None:
    sign_in_with_token(page, server.url, server.owner_token)
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["cp_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    assert not session["secure"]  # plain HTTP on loopback; Secure over HTTPS
    assert server.owner_token not in session["value"]


def test_a_form_without_its_csrf_token_is_refused(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        answer = client.post("/sign-in", data={"token": server.owner_token, "csrf": "x"})
        assert answer.status_code == 403
        assert "security token" in answer.text
        assert "cp_session" not in answer.cookies
