"""Korean and English in Chromium (issue 15): the switcher by keyboard, the page and the
client's catalog in Korean, the choice kept across a reload and saved in the settings."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import browser as chromium
from tests.e2e.browser import shot
from tests.e2e.site import migrate, site_env
from tests.servers import free_port, start_daphne

browser = chromium.browser  # fixtures
person = chromium.person


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("i18n-site")
    env = site_env(tmp)
    migrate(env)
    server = start_daphne(env, tmp / "daphne.log", port=free_port())
    yield server
    server.stop()


def press_tab_until(page: Page, selector: str, limit: int = 60) -> None:
    """Move the focus with Tab only, as a keyboard user does, until ``selector`` has it."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def settings_language(page: Page) -> object:
    return page.evaluate(
        """async () => {
            const token = localStorage.getItem("chat.access");
            const headers = { Authorization: `Bearer ${token}` };
            const r = await fetch("/api/me/settings/", { headers });
            return (await r.json()).language;
        }"""
    )


def test_switch_to_korean_by_keyboard_and_it_stays(site, person):
    page = person()
    page.goto(f"{site.http_url}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    switcher = page.get_by_role("form", name="Language")
    expect(switcher).to_be_visible()
    expect(page.locator("[data-testid=language-en]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#new-room button[type=submit]")).to_be_enabled()  # the guest exists

    press_tab_until(page, "[data-testid=language-ko]")
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page).to_have_url(f"{site.http_url}/")
    expect(page.get_by_role("form", name="언어")).to_be_visible()
    expect(page.locator("[data-testid=language-ko]")).to_have_attribute("aria-pressed", "true")

    # A string the client renders: the server's refusal, shown by the lobby's script.
    page.locator("#new-room [name=name]").fill("general")
    page.locator("#new-room [name=name]").press("Enter")
    expect(page.locator("#new-room-error")).to_have_text("같은 이름의 방이 이미 있습니다.")
    # The client's own catalog (/jsi18n/) and Intl in the page's language.
    assert page.evaluate(
        """async () => {
            const m = await import("/static/js/i18n.js");
            return [m.gettext("Close"), m.language(), m.formatRelative(-1, "day")];
        }"""
    ) == ["닫기", "ko", "어제"]
    shot(page, "lobby-ko")
    assert settings_language(page) == "ko"  # saved for this user too

    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("[data-testid=language-ko]")).to_have_attribute("aria-pressed", "true")

    # And back, by keyboard again.
    press_tab_until(page, "[data-testid=language-en]")
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert settings_language(page) == "en"


def test_a_korean_browser_gets_korean_without_choosing(site, browser):
    context = browser.new_context(locale="ko-KR")
    try:
        page = context.new_page()
        page.goto(f"{site.http_url}/listings/")
        expect(page.locator("html")).to_have_attribute("lang", "ko")
        expect(page.get_by_role("form", name="언어")).to_be_visible()
    finally:
        context.close()
