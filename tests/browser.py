"""Playwright (Python) driving Debian's chromium, headless, for the dashboard tests.

Never a downloaded browser: ``executable_path`` is /usr/bin/chromium (installed by
scripts/install-test-services.sh). Screenshots of each page go to ``test-artifacts/
screenshots/`` (git-ignored), kept as CI artifacts, not committed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless chromium per test module."""
    assert CHROMIUM.exists(), "install Debian's chromium: scripts/install-test-services.sh"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and a page in it."""
    context = browser.new_context()
    context.set_default_timeout(20_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``test-artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in_with_token(page: Page, base_url: str, token: str) -> None:
    """Sign in through the sign-in form with an API token; lands on the overview."""
    page.goto(f"{base_url}/sign-in")
    page.get_by_label("API token", exact=True).fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")
