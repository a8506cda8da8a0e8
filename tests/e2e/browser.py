"""What the browser tests share: Debian's Chromium through Playwright, one context per person."""

import os
import subprocess
import sys
import time

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.servers import ROOT, need_binary

SHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    executable = need_binary("chromium", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def person(browser):
    contexts = []

    def open_page(width: int = 1100, height: int = 800) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def say(page: Page, text: str) -> None:
    page.locator("#body").fill(text)
    page.locator("#body").press("Enter")


def run_in_site(site, code: str) -> None:
    clean = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE"}
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**clean, **site.env},
        check=True,
        capture_output=True,
    )


def wait_until(page: Page, expression: str, arg: object = None, timeout: float = 10.0) -> None:
    """Until ``expression`` (or function of ``arg``) is truthy in the page.

    Not ``page.wait_for_function``: that builds its predicate with ``new Function`` inside
    the page, which the site's Content-Security-Policy (no ``unsafe-eval``) refuses;
    ``page.evaluate`` runs through the debugger protocol and is not subject to it.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {expression}")
        page.wait_for_timeout(50)
