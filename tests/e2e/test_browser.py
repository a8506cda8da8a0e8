"""The product as a person uses it: Debian's Chromium driven by Playwright against Daphne."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import browser as chromium
from tests.e2e.browser import run_in_site, say, shot
from tests.e2e.site import general_room, guest, http, migrate, recv, send, site_env, ws_open
from tests.servers import free_port, start_daphne

browser = chromium.browser  # fixtures
person = chromium.person


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser-site")
    env = site_env(tmp)
    migrate(env)
    port = free_port()
    server = start_daphne(env, tmp / "daphne.log", port=port)
    server.env = env
    yield server
    server.stop()


def open_general(page: Page, site) -> None:
    page.goto(f"{site.http_url}/")
    page.get_by_role("link", name="general").click()
    expect(page.locator("#room-title")).to_have_text("general")
    expect(page.locator("#online")).not_to_have_text("0")


def test_two_guests_in_a_public_room_see_each_other_live(site, person):
    one, two = person(), person(width=390, height=800)  # a desktop and a phone
    open_general(one, site)
    open_general(two, site)
    expect(one.locator("#online")).to_have_text("2")
    expect(two.locator("#online")).to_have_text("2")
    say(one, "hello from one")
    expect(two.locator(".msg .body", has_text="hello from one")).to_be_visible(timeout=1000)
    say(two, "hello from two")
    expect(one.locator(".msg .body", has_text="hello from two")).to_be_visible(timeout=1000)
    expect(one.locator(".msg.pending")).to_have_count(0)  # acked
    two.locator("#body").press_sequentially("typing something")
    name = two.locator("#me").inner_text()
    expect(one.locator("#typing")).to_have_text(f"{name} is typing…")
    shot(one, "room")
    shot(two, "room-phone")
    one.goto(f"{site.http_url}/")
    expect(one.locator(".card", has_text="general")).to_be_visible()
    shot(one, "lobby")


def test_the_lobby_refresh_keeps_a_keyboard_users_place(site, person):
    """The lobby refreshes its cards (online counts) every few seconds: an unchanged card
    stays the same element, and focus on a card that changed moves to its new version."""
    quiet = guest(site.http_url)
    status, room = http(
        "POST", f"{site.http_url}/api/rooms/", {"name": "quiet corner"}, token=quiet["access"]
    )
    assert status == 201, room
    general = general_room(site.http_url, quiet["access"])
    viewer, walker = person(), person()
    viewer.goto(f"{site.http_url}/")
    cards = viewer.locator("#room-list .card")
    expect(cards.filter(has_text="quiet corner")).to_be_visible()
    online = cards.filter(has=viewer.locator(f'a[href="/rooms/{general}/"]')).locator(".online")
    before = online.inner_text()
    viewer.evaluate(
        "document.querySelectorAll('#room-list .card').forEach((c) => { c.marked = true; })"
    )
    viewer.locator(f'#room-list a[href="/rooms/{general}/"]').focus()

    walker.goto(f"{site.http_url}/rooms/{general}/")  # general's online count goes up
    expect(walker.locator("#online")).not_to_have_text("0")
    expect(online).not_to_have_text(before, timeout=8000)

    assert viewer.evaluate("document.activeElement.getAttribute('href')") == f"/rooms/{general}/"
    unchanged = viewer.locator(".card", has_text="quiet corner")
    assert unchanged.evaluate("card => card.marked === true")  # not redrawn
    assert online.evaluate("el => el.closest('.card').marked === undefined")  # redrawn


def test_listing_chat_inbox_unread_and_seen(site, person):
    owner, visitor = person(), person()
    owner.goto(f"{site.http_url}/listings/")
    expect(owner.locator("#listings-empty")).to_be_visible()  # nothing offered yet
    owner.locator("#new-listing [name=title]").fill("Camping tent")
    owner.locator("#new-listing [name=description]").fill("Sleeps two. <b>not bold</b>")
    owner.get_by_role("button", name="Post listing").click()
    expect(owner.locator("#listing-title")).to_have_text("Camping tent")
    expect(owner.locator("#chat-owner")).to_be_hidden()  # not shown to the owner
    listing_url = owner.url
    shot(owner, "listing")
    owner.goto(f"{site.http_url}/listings/")
    expect(owner.locator(".card", has_text="Camping tent")).to_be_visible()
    shot(owner, "listings")

    owner.goto(f"{site.http_url}/inbox/")
    expect(owner.locator("#inbox-empty")).to_be_visible()
    visitor.goto(listing_url)
    visitor.get_by_role("button", name="Chat with the owner").click()
    expect(visitor.locator("#room-sub")).to_have_text("About: Camping tent")
    say(visitor, "Is it free this weekend?")
    expect(visitor.locator(".msg.mine .body", has_text="Is it free this weekend?")).to_be_visible()

    card = owner.locator("#inbox-list .card", has_text="Camping tent")
    expect(card.locator("[data-testid=unread]")).to_have_text("1")  # live, no reload
    expect(owner.locator("#inbox-badge")).to_have_text("1")
    shot(owner, "inbox")
    card.get_by_role("link").click()
    expect(owner.locator(".msg .body", has_text="Is it free this weekend?")).to_be_visible()
    expect(owner.locator("#inbox-badge")).to_be_hidden()  # opening the room read it
    expect(visitor.locator(".msg.mine .seen")).to_be_visible()
    visitor.reload()  # "Seen" survives a reload
    expect(visitor.locator(".msg.mine .seen")).to_be_visible()


def test_infinite_scroll_loads_pages_in_order_without_jumping(site, person):
    page = person()
    page.goto(f"{site.http_url}/")
    run_in_site(
        site,
        "from accounts.services import guest_create; from rooms.models import ChatRoom; "
        "from messaging.models import ChatMessage; u = guest_create(); "
        "r = ChatRoom.objects.create(kind='public', name='history'); "
        "ChatMessage.objects.bulk_create([ChatMessage(room=r, author=u, body=f'line {n}', "
        "client_id=f'h{n}', seq=n, rev=n) for n in range(1, 301)]); "
        "ChatRoom.objects.filter(pk=r.pk).update(last_seq=300)",
    )
    page.reload()
    page.get_by_role("link", name="history").click()
    messages = page.locator("#messages .msg")
    expect(messages).to_have_count(50)
    expect(messages.last.locator(".body")).to_have_text("line 300")
    for expected_count in (100, 150):
        top = page.evaluate(
            """() => { const s = document.querySelector('#scroller');
                       s.scrollTop = 0;
                       const el = document.querySelector('#messages .msg');
                       return { id: el.dataset.id, y: el.getBoundingClientRect().top }; }"""
        )
        expect(messages).to_have_count(expected_count)
        after = page.evaluate(
            "id => document.querySelector(`#messages .msg[data-id='${id}']`)"
            ".getBoundingClientRect().top",
            top["id"],
        )
        assert abs(after - top["y"]) <= 3, (top, after)
    seqs = page.evaluate(
        "[...document.querySelectorAll('#messages .msg')].map(e => Number(e.dataset.seq))"
    )
    assert seqs == list(range(151, 301))


def test_the_page_reconnects_and_shows_what_was_written_meanwhile(site, person):
    page = person()
    open_general(page, site)
    say(page, "before the outage")
    expect(page.locator(".msg.mine .body", has_text="before the outage")).to_be_visible()
    site.stop()
    expect(page.locator("#banner-text")).to_have_text("Reconnecting…")
    restarted = start_daphne(site.env, site.log, port=site.port)
    site.process = restarted.process
    writer = guest(site.http_url)
    room = general_room(site.http_url, writer["access"])

    async def write():
        async with await ws_open(site.ws_url, writer["access"]) as ws:
            await send(ws, type="join", room=room)
            await recv(ws, "joined")
            for n in range(5):
                await send(
                    ws,
                    type="send",
                    room=room,
                    body=f"while you were away {n}",
                    client_id=f"away-{n}",
                )
                await recv(ws, "ack")

    with ThreadPoolExecutor(1) as pool:  # sync Playwright owns this thread's event loop
        pool.submit(asyncio.run, write()).result()
    # Rather than wait for the backoff (a no-op if the backoff got there first).
    page.locator("#banner-retry").dispatch_event("click")
    expect(page.locator("#banner")).to_be_hidden(timeout=15_000)
    away = page.locator(".msg .body", has_text="while you were away")
    expect(away).to_have_count(5)
    assert away.all_inner_texts() == [f"while you were away {n}" for n in range(5)]
    expect(page.locator(".msg .body", has_text="before the outage")).to_have_count(1)


def test_markup_in_a_message_is_shown_as_text(site, person):
    page = person()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_general(page, site)
    attack = "<img src=x onerror=alert(1)>"
    say(page, attack)
    expect(page.locator(".msg .body", has_text=attack)).to_have_text(attack)
    page.wait_for_timeout(300)
    assert dialogs == []
    assert page.locator("#messages img").count() == 0


def test_reload_keeps_the_identity_and_the_history(site, person):
    page = person()
    open_general(page, site)
    name = page.locator("#me").inner_text()
    assert "#" in name
    say(page, "remember me")
    expect(page.locator(".msg.mine .body", has_text="remember me")).to_be_visible()
    page.reload()
    expect(page.locator("#me")).to_have_text(name)
    expect(page.locator(".msg.mine .body", has_text="remember me")).to_be_visible()
    new_tab = page.context.new_page()
    new_tab.goto(f"{site.http_url}/")
    expect(new_tab.locator("#me")).to_have_text(name)


def test_a_message_sent_before_the_room_has_joined_goes_out_once_joined(site, person):
    page = person()
    page.goto(f"{site.http_url}/")
    expect(page.locator("#me")).not_to_have_text("…")
    room = page.locator(".card a", has_text="general").get_attribute("href")
    held = []  # the room joins only after its history loads: hold that to open the window
    page.route(lambda url: "/messages/" in url, lambda route: held.append(route))
    page.goto(f"{site.http_url}{room}")
    say(page, "typed at once")
    page.wait_for_timeout(500)
    assert held, "the history request was not held"
    for route in held:
        route.continue_()
    page.unroute_all()
    mine = page.locator(".msg.mine .body", has_text="typed at once")
    expect(mine).to_have_count(1)
    expect(page.locator(".msg.pending")).to_have_count(0)
    expect(page.locator(".msg.failed")).to_have_count(0)


def test_pages_run_under_the_csp_and_an_injected_inline_script_does_not(site, person):
    """Every page works with no Content-Security-Policy violation; a script element put into
    the page (what an injection would do) is refused by the browser."""
    page = person()
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: (
            "Content Security Policy" in msg.text
            and violations.append(f"{page.url}: {msg.text[:60]} {msg.location}")
        ),
    )
    for path in ("/", "/listings/", "/inbox/", "/api/docs/", "/admin/login/"):
        page.goto(f"{site.http_url}{path}")
        page.wait_for_load_state("networkidle")
    open_general(page, site)
    assert violations == [], violations
    ran = page.evaluate(
        """() => new Promise((done) => {
            window.__injected = false;
            document.addEventListener("securitypolicyviolation", () => done(window.__injected));
            const s = document.createElement("script");
            s.textContent = "window.__injected = true";
            document.body.appendChild(s);
            setTimeout(() => done(window.__injected), 2000);
        })"""
    )
    assert ran is False
