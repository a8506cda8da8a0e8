"""The page on a phone: nothing wider than a 360 px screen, 44 px touch targets in the header
and the composer, the account panel on screen at 390 px; the not-found pages; the warning
before an unclaimed guest identity is thrown away; the confirmation of a claim."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import browser as chromium
from tests.e2e import world as populated
from tests.e2e.browser import shot, wait_until
from tests.e2e.site import guest
from tests.e2e.world import NARROW, PHONE, open_page, signed_in

browser = chromium.browser  # fixtures
world = populated.world

# Every visible element whose box reaches past the viewport's sides (sr-only text is 1 px
# and clipped; an element inside a horizontally scrolling box would count, and should).
OVERFLOWING = """() => {
  const width = innerWidth;
  const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (!el.checkVisibility({ visibilityProperty: true })) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (box.left < -0.5 || box.right > width + 0.5) {
      const name = `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${el.className}`;
      out.push(`${name} ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  return { scrollWidth: document.scrollingElement.scrollWidth, width, out };
}"""

# Visible buttons, links and summaries in the header and the composer smaller than 44 px.
SMALL_TARGETS = """(selectors) => {
  const out = [];
  for (const el of document.querySelectorAll(selectors)) {
    if (!el.checkVisibility({ visibilityProperty: true })) continue;
    const box = el.getBoundingClientRect();
    const size = `${Math.round(box.width)}x${Math.round(box.height)}`;
    if (box.width < 44 || box.height < 44) out.push(`${el.id || el.textContent.trim()}: ${size}`);
  }
  return out;
}"""
TARGETS = ".top a, .top button, .top summary, .composer button, .composer textarea"


PAGES = ["lobby", "room", "direct", "inbox", "listings", "listing", "settings"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", PAGES)
def test_no_element_is_wider_than_a_360_px_screen(browser, world, name, scheme):
    context, page = signed_in(browser, world, viewport=NARROW, scheme=scheme)
    try:
        open_page(page, world, name)
        page.locator("#menu-toggle").click()  # the folded links and search box too
        expect(page.locator("#top-menu")).to_be_visible()
        found = page.evaluate(OVERFLOWING)
        assert found["scrollWidth"] <= found["width"], found
        assert found["out"] == [], found["out"]
        assert page.evaluate(SMALL_TARGETS, TARGETS) == []
    finally:
        context.close()


def test_phone_header_is_one_line_and_the_account_panel_is_on_screen(browser, world):
    context, page = signed_in(browser, world, viewport=PHONE)
    try:
        open_page(page, world, "room")
        header = page.locator("header.top").bounding_box()
        summary = page.locator(".account summary").bounding_box()
        assert header and summary
        assert header["height"] < 60, header  # the name does not wrap onto a second line
        page.locator(".account summary").click()
        panel = page.locator("#account-panel")
        expect(panel).to_be_visible()
        box = panel.bounding_box()
        assert box
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box
        # The claim form can be used: its button is on screen and reachable.
        expect(page.locator("#claim-form button")).to_be_in_viewport()
        # The composer is flush with the bottom of the room: no dead space under it.
        page.locator(".account summary").click()
        gap = page.evaluate(
            "document.querySelector('.room').getBoundingClientRect().bottom"
            " - document.querySelector('#composer').getBoundingClientRect().bottom"
        )
        assert gap <= 2, gap
    finally:
        context.close()


@pytest.mark.parametrize("name", ["lobby", "inbox", "listings"])
def test_a_card_is_one_link_covering_all_of_it(browser, world, name):
    context, page = signed_in(browser, world, viewport=PHONE)
    try:
        open_page(page, world, name)
        card = page.locator(".card").first
        assert card.locator("a, button, input, select, textarea, [tabindex]").count() == 1
        # The link and the box of one and the same card, read at once.
        found = card.evaluate(
            "card => ({ href: card.querySelector('a').getAttribute('href'),"
            " box: card.getBoundingClientRect().toJSON() })"
        )
        box = found["box"]
        page.mouse.click(box["right"] - 8, box["bottom"] - 6)  # a corner
        expect(page).to_have_url(world.url + found["href"])
    finally:
        context.close()


def test_theme_choice_is_remembered_across_pages(browser, world):
    context, page = signed_in(browser, world, scheme="light")
    try:
        open_page(page, world, "lobby")
        scheme = "getComputedStyle(document.documentElement).colorScheme"
        assert page.evaluate(scheme) == "light"
        page.locator(".account summary").click()
        page.get_by_label("Theme").select_option("dark")
        assert page.evaluate(scheme) == "dark"
        # The next page is dark too (theme.js, a classic script in <head>: before the first
        # paint; tests/test_pages.py checks where it is).
        page.goto(world.url + "/listings/")
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        page.locator(".account summary").click()
        expect(page.get_by_label("Theme")).to_have_value("dark")
        page.get_by_label("Theme").select_option("")  # System: follows the browser again
        assert page.evaluate("localStorage.getItem('chat.theme')") is None
        assert page.evaluate(scheme) == "light"
    finally:
        context.close()


def test_room_works_at_200_percent_zoom(browser, world):
    """1280 x 800 at 200% zoom is a 640 x 400 CSS-pixel viewport."""
    context, page = signed_in(browser, world, viewport={"width": 640, "height": 400})
    try:
        open_page(page, world, "direct")
        expect(page.locator("#body")).to_be_in_viewport()
        expect(page.get_by_role("button", name="Send")).to_be_in_viewport()
        assert page.locator("#scroller").bounding_box()["height"] >= 80  # type: ignore[index]
        found = page.evaluate(OVERFLOWING)
        assert found["scrollWidth"] <= found["width"] and found["out"] == [], found
        page.locator("#body").fill("at 200%")
        page.locator("#body").press("Enter")
        expect(page.locator(".msg.mine .body", has_text="at 200%")).to_be_in_viewport()
        shot(page, "direct-zoom-200")
    finally:
        context.close()


@pytest.mark.parametrize(
    ("path", "heading", "back"),
    [
        ("/rooms/999999/", "Room not found", "Back to the lobby"),
        ("/listings/999999/", "Listing not found", "Back to the listings"),
    ],
)
def test_missing_room_and_listing_are_404_pages_with_a_way_back(
    browser, world, path, heading, back
):
    context, page = signed_in(browser, world, viewport=PHONE)
    try:
        response = page.goto(world.url + path)
        assert response and response.status == 404
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.locator("#me")).not_to_have_text("…")  # the header still works
        shot(page, f"not-found-{path.split('/')[1]}-phone")
        page.get_by_role("link", name=back).click()
        expect(page).to_have_url(re.compile(r"/$|/listings/$"))
        expect(page.get_by_role("heading", level=1)).not_to_have_text(heading)
    finally:
        context.close()


def new_guest_page(browser, world, **kwargs) -> tuple[object, Page]:
    """A browser holding a fresh guest of its own (so leaving it changes no other test)."""
    fresh = guest(world.url)
    context, page = signed_in(browser, world, who=fresh, **kwargs)
    page.goto(world.url + "/")
    expect(page.locator("#me")).to_have_text(fresh["user"]["display_name"])
    return context, page


def test_leaving_an_unclaimed_guest_asks_first_naming_what_is_lost(browser, world):
    context, page = new_guest_page(browser, world, viewport=PHONE)
    try:
        name = page.locator("#me").inner_text()
        page.locator(".account summary").click()
        page.get_by_role("button", name="Log out").click()
        dialog = page.get_by_role("dialog", name="Log out and lose this guest identity?")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text(name)
        assert page.evaluate("document.querySelector('#guest-warning').matches(':modal')")
        shot(page, "guest-warning-phone")
        page.keyboard.press("Escape")  # = Cancel: nothing happens
        expect(dialog).to_be_hidden()
        expect(page.locator("#me")).to_have_text(name)
        assert page.evaluate("JSON.parse(localStorage.getItem('chat.user')).display_name") == name

        # Logging in as someone else asks the same; "Claim it first" leads to the claim form.
        page.locator("#login-form [name=username]").fill("nobody")
        page.locator("#login-form [name=password]").fill("whatever1")
        page.locator("#login-form button").click()
        dialog = page.get_by_role("dialog", name="Log in and lose this guest identity?")
        dialog.get_by_role("button", name="Claim it first").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("#claim-form [name=username]")).to_be_focused()
        expect(page.locator("#me")).to_have_text(name)

        page.get_by_role("button", name="Log out").click()
        page.get_by_role("button", name="Log out anyway").click()
        expect(page.locator("#me")).not_to_have_text(name)  # a new guest
        expect(page.locator("#me")).not_to_have_text("…")
    finally:
        context.close()


def test_claiming_confirms_and_the_header_shows_the_account_name(browser, world):
    context, page = new_guest_page(browser, world)
    try:
        name = page.locator("#me").inner_text()
        page.locator(".account summary").click()
        page.locator("#claim-form [name=username]").fill("tentlender")
        page.locator("#claim-form [name=password]").fill("a long pass phrase 42")
        page.get_by_role("button", name="Claim").click()
        flash = page.locator("#flash")
        expect(flash).to_be_visible()
        expect(flash).to_have_attribute("role", "status")
        expect(flash).to_contain_text("tentlender")
        expect(page.locator("#me-account")).to_have_text("tentlender")
        expect(page.locator("#me")).to_have_text(name)
        shot(page, "claimed-desktop")
        # A claimed identity leaves without a warning: nothing is lost.
        page.locator(".account summary").click()
        expect(page.locator("#claim-form")).to_be_hidden()
        page.get_by_role("button", name="Log out").click()
        expect(page.locator("#me")).not_to_have_text(name)
        expect(page.locator("#guest-warning")).to_be_hidden()
        wait_until(page, "localStorage.getItem('chat.username') === null")
    finally:
        context.close()
