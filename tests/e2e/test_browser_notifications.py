"""Notifications in Chromium: the service worker registers, permission is asked only after
"Turn on notifications" is clicked and the page then subscribes with the server's VAPID
key (no push service is reachable here: the page half stops at that call; the server half
is tests/notifications/test_worker.py), and the tab title and favicon follow unread
messages live, across rooms. The mute toggle and the settings page work."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import browser as chromium
from tests.e2e.browser import say, shot, wait_until
from tests.e2e.site import migrate, site_env
from tests.servers import start_daphne

browser = chromium.browser  # fixtures
person = chromium.person

# Count what the page asks of the browser, then let the call through.
SPY = """
window.__asked = 0;
window.__subscribed = [];
const ask = Notification.requestPermission.bind(Notification);
Notification.requestPermission = (...args) => { window.__asked += 1; return ask(...args); };
if (window.PushManager) {
  const subscribe = PushManager.prototype.subscribe;
  PushManager.prototype.subscribe = function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    const b64 = btoa(String.fromCharCode(...key));
    window.__subscribed.push(b64.replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, ""));
    return subscribe.call(this, options);
  };
}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("notify-site")
    env = site_env(tmp)
    migrate(env)
    server = start_daphne(env, tmp / "daphne.log")
    server.env = env
    yield server
    server.stop()


def test_service_worker_registers_and_permission_waits_for_a_click(site, person):
    page: Page = person()
    page.context.grant_permissions(["notifications"], origin=site.http_url)
    page.add_init_script(SPY)
    page.goto(f"{site.http_url}/")
    scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == f"{site.http_url}/"
    offer = page.locator("#push-offer")
    expect(offer).to_be_visible()
    assert page.evaluate("window.__asked") == 0  # never asked on load
    key = page.evaluate(
        "fetch('/api/push/key/', {headers: {Authorization: 'Bearer ' + "
        "localStorage.getItem('chat.access')}}).then((r) => r.json())"
    )
    offer.click()
    wait_until(page, "window.__subscribed.length === 1")
    assert page.evaluate("window.__asked") == 1
    assert page.evaluate("window.__subscribed[0]") == key["public_key"]
    # No push service answers in this sandbox: the subscribe call is where the page half ends.
    wait_until(page, "document.body.dataset.pushError !== undefined")
    shot(page, "push-offer")


def test_title_and_favicon_follow_unread_across_rooms_and_mute(site, person):
    owner, visitor = person(), person()
    owner.goto(f"{site.http_url}/listings/")
    owner.locator("#new-listing [name=title]").fill("Kayak")
    owner.locator("#new-listing [name=description]").fill("Two seats.")
    owner.get_by_role("button", name="Post listing").click()
    expect(owner.locator("#listing-title")).to_have_text("Kayak")
    listing_url = owner.url
    owner.goto(f"{site.http_url}/listings/")  # anywhere but the room
    expect(owner).to_have_title("Listings · Realtime Chat")
    blank_icon = owner.locator("link[rel=icon]").get_attribute("href")

    visitor.goto(listing_url)
    visitor.get_by_role("button", name="Chat with the owner").click()
    expect(visitor.locator("#room-sub")).to_have_text("About: Kayak")
    say(visitor, "Still available?")
    expect(owner).to_have_title("(1) Listings · Realtime Chat")  # live, no reload
    icon = owner.locator("link[rel=icon]").get_attribute("href")
    assert icon.startswith("data:image/png") and icon != blank_icon
    lists: list[str] = []  # the owner's requests for the room list from here on
    owner.on("request", lambda r: "/api/rooms/" in r.url and lists.append(r.url))
    say(visitor, "Tomorrow?")
    expect(owner).to_have_title("(2) Listings · Realtime Chat")
    expect(owner.locator("#inbox-badge")).to_have_text("2")
    # The title and the inbox badge share one fetch of the list per event.
    assert lists == [f"{site.http_url}/api/rooms/"]
    shot(owner, "unread-title")

    owner.goto(f"{site.http_url}/inbox/")
    owner.locator("#inbox-list .card", has_text="Kayak").get_by_role("link").click()
    expect(owner.locator(".msg .body", has_text="Tomorrow?")).to_be_visible()
    expect(owner).to_have_title("Room · Realtime Chat")  # read by opening it

    # Mute: the room's messages no longer count in the title.
    mute = owner.locator("#mute")
    expect(mute).to_have_text("Mute notifications")
    mute.click()
    expect(mute).to_have_text("Unmute notifications")
    owner.goto(f"{site.http_url}/listings/")
    say(visitor, "Muted one")
    expect(visitor.locator(".msg.mine .body", has_text="Muted one")).to_be_visible()
    expect(visitor.locator(".msg.pending")).to_have_count(0)  # stored
    owner.reload()  # a muted room sends no notify frame: nothing moves live
    expect(owner.locator("#inbox-badge")).to_have_text("1")  # unread still counts
    expect(owner).to_have_title("Listings · Realtime Chat")


def test_settings_page(site, person):
    page = person()
    page.goto(f"{site.http_url}/settings/")
    expect(page.locator("#email-guest")).to_be_visible()  # a guest has no e-mail
    expect(page.locator("#email")).to_be_disabled()
    expect(page.locator("#digest")).to_be_checked()
    page.locator("#digest").uncheck()
    page.locator("#language").select_option("ko")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#settings-saved")).to_have_text("Saved.")
    page.reload()
    expect(page.locator("#digest")).not_to_be_checked()
    expect(page.locator("#language")).to_have_value("ko")
    shot(page, "settings")
