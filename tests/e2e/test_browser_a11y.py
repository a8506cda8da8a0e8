"""axe-core (through axe-playwright-python, which ships it) on every page of the client, in
the light and the dark theme (the system's preference, and the account menu's override):
zero serious or critical violations. Screenshots of every page at desktop and phone width in
both themes are saved under test-output/screenshots/ as it goes."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e import browser as chromium
from tests.e2e import world as populated
from tests.e2e.browser import shot
from tests.e2e.world import PHONE, World, open_page, signed_in

browser = chromium.browser  # fixtures
world = populated.world

AXE = Axe()
# What "serious or critical" covers: contrast, names of controls, ARIA misuse, landmarks…
BLOCKING = ("serious", "critical")
PAGES = [
    "lobby",
    "room",
    "direct",
    "inbox",
    "listings",
    "listing",
    "settings",
    "account",
    "warning",
]
# (colour scheme the browser reports, the account menu's theme choice)
THEMES = {"light": ("light", None), "dark": ("dark", None), "dark-override": ("light", "dark")}


# The languages the pages are checked in (signed_in() sends Accept-Language and the
# django_language cookie): Korean in both system themes; the override is system dark's
# stylesheet, checked once, in English.
THEMES_AND_LANGUAGES = [(theme, "en") for theme in THEMES] + [("light", "ko"), ("dark", "ko")]


def violations(page: Page) -> list[str]:
    results = AXE.run(page, options={"resultTypes": ["violations"]})
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


def show(page: Page, world: World, name: str) -> None:
    if name == "account":  # the sign-in / claim panel, open
        open_page(page, world, "lobby")
        page.locator(".account summary").click()
        expect(page.locator("#claim-form")).to_be_visible()
    elif name == "warning":  # the guest warning before "Log out" (cancelled afterwards)
        open_page(page, world, "lobby")
        page.locator(".account summary").click()
        page.locator("#logout").click()  # "Log out" or "로그아웃"
        expect(page.locator("#guest-warning")).to_be_visible()
    else:
        open_page(page, world, name)


@pytest.mark.parametrize(("theme", "language"), THEMES_AND_LANGUAGES)
@pytest.mark.parametrize("name", PAGES)
def test_page_has_no_serious_axe_violations(browser, world, name, theme, language):
    scheme, override = THEMES[theme]
    context, page = signed_in(browser, world, scheme=scheme, theme=override, language=language)
    try:
        show(page, world, name)
        expected = "dark" if "dark" in theme else "light"
        assert page.evaluate("getComputedStyle(document.documentElement).colorScheme") == expected
        found = violations(page)
        if theme != "dark-override":  # the override looks like "dark": one set of pictures
            shot(page, f"{name}-desktop-{theme}-{language}")
            page.set_viewport_size(PHONE)
            shot(page, f"{name}-phone-{theme}-{language}")
            found += [f"at {PHONE['width']} px: {v}" for v in violations(page)]
        assert found == [], "\n".join(found)
    finally:
        context.close()
