"""The browser client when things go wrong: rate limits, dead networks, refused tokens, faults.

A site of its own: a 2 s heartbeat (so a dead connection is found within seconds) and a send
rate limit that a quick typist runs into.
"""

import json
import re
import threading
import time
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.e2e import browser as chromium
from tests.e2e.browser import run_in_site, say
from tests.e2e.site import expired_token, http, migrate, site_env
from tests.servers import start_daphne

browser = chromium.browser  # fixtures
person = chromium.person

SEND_RATE = 10
SEND_WINDOW = 2


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resilience-site")
    env = site_env(
        tmp,
        CHAT_HEARTBEAT_INTERVAL="2",
        CHAT_SEND_RATE=str(SEND_RATE),
        CHAT_SEND_WINDOW=str(SEND_WINDOW),
    )
    migrate(env)
    server = start_daphne(env, tmp / "daphne.log")
    server.env = env
    yield server
    server.stop()


_rooms = iter(range(1, 1_000))


def open_new_room(site, *pages: Page) -> int:
    """A fresh public room (no other test's messages or members), opened in each page."""
    first = pages[0]
    first.goto(f"{site.http_url}/")
    name = f"resilience {next(_rooms)}"
    first.locator("#new-room [name=name]").fill(name)
    first.get_by_role("button", name="Create room").click()
    expect(first.locator("#room-title")).to_have_text(name)
    for page in pages[1:]:
        page.goto(first.url)
    for page in pages:
        expect(page.locator("#online")).to_have_text(str(len(pages)))
    return int(first.url.rstrip("/").rsplit("/", 1)[1])


def bodies(page: Page) -> list[str]:
    return page.locator("#messages .msg:not(.pending) .body").all_inner_texts()


def token_of(page: Page) -> str:
    return page.evaluate("localStorage.getItem('chat.access')")


def wait_for_refused_attempts(page: Page, attempts: list[Any], count: int) -> None:
    """Until ``count`` more sockets were tried (and refused): the backoff's next try is then
    2 ** (count - 1) to 2 ** count seconds away (see socket.js)."""
    deadline = time.monotonic() + 30
    while len(attempts) < count:
        assert time.monotonic() < deadline, f"only {len(attempts)} attempts to reconnect"
        page.wait_for_timeout(100)


def test_quick_sends_arrive_in_the_order_written_for_everyone(site, person):
    writer, reader = person(), person()
    room = open_new_room(site, writer, reader)
    written = [f"quick {n:02}" for n in range(30)]
    box = writer.locator("#body")
    for text in written:  # typed as a quick typist does, Enter after each
        box.press_sequentially(text, delay=5)
        box.press("Enter")
    # More than SEND_RATE in the window: one notice for the held queue, counting down.
    notice = writer.locator("#send-notice")
    expect(notice).to_have_text(re.compile(r"^sending too fast — \d+ s$"))
    expect(writer.locator(".msg.pending .state", has_text="waiting")).to_have_count(0)
    expect(writer.locator(".msg.pending")).to_have_count(0, timeout=30_000)
    expect(notice).to_be_hidden()
    expect(writer.locator(".msg.failed")).to_have_count(0)
    assert bodies(writer) == written
    expect(reader.locator("#messages .msg")).to_have_count(len(written))
    assert bodies(reader) == written
    status, history = http(
        "GET", f"{site.http_url}/api/rooms/{room}/messages/?limit=100", token=token_of(writer)
    )
    assert status == 200
    assert [m["body"] for m in history["results"]] == written


def test_a_dead_connection_is_noticed_and_healed_when_the_network_returns(site, person):
    one, two = person(), person()
    open_new_room(site, one, two)
    attempts: list[Any] = []
    one.on("websocket", lambda ws: attempts.append(ws))
    one.context.set_offline(True)  # the socket is not closed: frames just stop
    expect(one.locator("#banner-text")).to_have_text("Reconnecting…", timeout=8_000)
    attempts.clear()
    expect(one.get_by_role("button", name="Retry now")).to_be_visible()
    expect(one.locator("#online")).to_have_text("—")  # presence unknown, not "2"
    say(two, "while you were offline")
    say(one, "written offline")
    expect(one.locator(".msg.pending .body")).to_have_text("written offline")
    # Offline long enough for the backoff to grow to seconds: coming back online must not
    # wait for it.
    wait_for_refused_attempts(one, attempts, 4)
    one.context.set_offline(False)
    expect(one.locator("#banner")).to_be_hidden(timeout=2_500)
    expect(one.locator("#online")).to_have_text("2")
    expect(one.locator(".msg .body", has_text="while you were offline")).to_have_count(1)
    expect(one.locator(".msg.pending")).to_have_count(0)
    expect(two.locator(".msg .body", has_text="written offline")).to_have_count(1)
    assert bodies(one) == bodies(two) == ["while you were offline", "written offline"]


def test_a_refused_token_keeps_retrying_while_the_refresh_fails(site, person):
    page = person()
    sockets: list[WebSocketRoute] = []

    def through(ws: WebSocketRoute) -> None:
        sockets.append(ws)
        ws.connect_to_server()

    page.route_web_socket(re.compile(r"/ws/chat/"), through)
    open_new_room(site, page)
    refreshes = threading.Semaphore(0)

    def offline(route: Any) -> None:
        refreshes.release()
        route.abort("internetdisconnected")

    page.route("**/api/auth/refresh/", offline)
    user_id = page.evaluate("JSON.parse(localStorage.getItem('chat.user')).id")
    page.evaluate(
        "token => localStorage.setItem('chat.access', token)",
        expired_token(site.env["SECRET_KEY"], user_id),
    )
    sockets[-1].close(code=4401, reason="token expired")
    expect(page.locator("#banner-text")).to_have_text("Reconnecting…")
    deadline = time.monotonic() + 15  # the backoff's first steps take a few seconds
    for tried in range(3):  # the refresh failed, and was tried again, and again
        while not refreshes.acquire(blocking=False):
            assert time.monotonic() < deadline, f"refresh tried {tried} times, then never again"
            page.wait_for_timeout(50)
    page.unroute("**/api/auth/refresh/")
    expect(page.locator("#banner")).to_be_hidden(timeout=15_000)
    say(page, "after the refresh came back")
    expect(page.locator(".msg:not(.pending) .body")).to_have_text("after the refresh came back")


def test_an_internal_error_is_shown_and_not_retried_while_unavailable_is(site, person):
    page = person()
    broken: list[dict[str, Any]] = []
    unavailable: list[dict[str, Any]] = []

    def faulty_server(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_page(text: str | bytes) -> None:
            frame = json.loads(text)
            if frame.get("body") == "breaks the server":
                broken.append(frame)
                reply = {"code": "internal", "detail": "Something went wrong on our side."}
            elif frame.get("body") == "not now" and len(unavailable) < 2:
                unavailable.append(frame)
                reply = {"code": "unavailable", "detail": "Try again.", "retry_after": 1}
            else:
                server.send(text)
                return
            ws.send(json.dumps({"type": "error", "ref": frame["ref"], **reply}))

        ws.on_message(from_page)

    page.route_web_socket(re.compile(r"/ws/chat/"), faulty_server)
    open_new_room(site, page)
    say(page, "breaks the server")
    say(page, "not now")
    failed = page.locator(".msg.failed")
    expect(failed.locator(".state")).to_have_text("not sent: Something went wrong on our side.")
    expect(page.locator(".msg:not(.pending) .body")).to_have_text("not now", timeout=15_000)
    assert len(unavailable) == 2  # retried until it went through
    assert {f["client_id"] for f in unavailable} == {unavailable[0]["client_id"]}
    assert len(broken) == 1  # shown, never sent again
    expect(failed).to_have_count(1)
    expect(failed.get_by_role("button", name="Edit and retry")).to_be_visible()


def test_inbox_lobby_and_badge_see_rooms_past_the_first_page(site, person):
    page = person()
    page.goto(f"{site.http_url}/")
    expect(page.locator("#me")).not_to_have_text("…")
    user_id = page.evaluate("JSON.parse(localStorage.getItem('chat.user')).id")
    # A public room with older activity than 60 direct rooms: it is on the second page.
    run_in_site(
        site,
        "from django.utils import timezone; from datetime import timedelta; "
        "from accounts.models import User; from accounts.services import guest_create; "
        "from rooms.models import ChatRoom, Listing; "
        "from rooms.services import direct_room_get_or_create; "
        "from messaging.models import ChatMessage; "
        "old = ChatRoom.objects.create(kind='public', name='quiet corner'); "
        "ChatRoom.objects.filter(pk=old.pk).update("
        "last_activity_at=timezone.now() - timedelta(days=1)); "
        f"me = User.objects.get(pk={user_id}); peer = guest_create(); "
        "rooms = [direct_room_get_or_create(listing=Listing.objects.create("
        "owner=peer, title=f'thing {n}'), user=me)[0] for n in range(60)]; "
        "ChatMessage.objects.bulk_create([ChatMessage(room=r, author=peer, body='still there?', "
        "client_id=f'd{r.pk}', seq=1, rev=1) for r in rooms]); "
        "ChatRoom.objects.filter(pk__in=[r.pk for r in rooms]).update("
        "last_seq=1, last_activity_at=timezone.now())",
    )
    page.goto(f"{site.http_url}/inbox/")
    expect(page.locator("#inbox-list .card")).to_have_count(60)
    expect(page.locator("#inbox-badge")).to_have_text("60")
    page.goto(f"{site.http_url}/")
    expect(page.locator("#room-list .card", has_text="quiet corner")).to_have_count(1)
    expect(page.locator("#room-list .card", has_text="thing")).to_have_count(0)


@pytest.mark.parametrize("wake", ["tab becomes visible", "Retry now"])
def test_waking_the_page_reconnects_without_waiting_for_the_backoff(site, person, wake):
    page = person()
    open_new_room(site, page)
    attempts: list[Any] = []
    page.on("websocket", lambda ws: attempts.append(ws))
    site.stop()
    expect(page.locator("#banner-text")).to_have_text("Reconnecting…")
    attempts.clear()
    wait_for_refused_attempts(page, attempts, 4)
    restarted = start_daphne(site.env, site.log, port=site.port)
    site.process = restarted.process
    if wake == "Retry now":
        page.get_by_role("button", name="Retry now").click()
    else:
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.locator("#banner")).to_be_hidden(timeout=2_500)
    expect(page.locator("#online")).to_have_text("1")
