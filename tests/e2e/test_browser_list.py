"""(issue 15) The message list as a person reads it, in Debian's Chromium against Daphne:
date separators across midnight, runs of one author, the "New messages" divider where the
room opens, the jump-to-latest count, one announcement per new message, typing ended by a
message, the character counter and refusal over the limit, and a keyboard-only walkthrough
of sending, editing (Up) and deleting through a message's actions menu.

Messages are written with fixed times of day in a time zone where it is now about noon (the
page runs in it), so the separators say the same whenever the test runs. (Playwright's
fixed clock is not used: the identity's tokens are checked against the real one.)"""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import browser as chromium
from tests.e2e.browser import run_in_site, say, shot, wait_until
from tests.e2e.site import guest, http, migrate, site_env
from tests.servers import free_port, start_daphne

browser = chromium.browser  # fixture

# A zone where it is 12:xx now: "today" has its morning behind it, whatever the hour in UTC.
SHIFT = 12 - datetime.now(UTC).hour  # hours east of UTC, -11…12
ZONE = f"Etc/GMT{-SHIFT:+d}" if SHIFT else "UTC"  # (POSIX signs: Etc/GMT-3 is UTC+3)


def local_day(days_ago: int) -> date:
    return (datetime.now(UTC) + timedelta(hours=SHIFT)).date() - timedelta(days=days_ago)


def at(day: date, hh_mm: str) -> str:
    """The UTC ISO time of ``hh_mm`` on the local ``day``."""
    local = datetime.fromisoformat(f"{day.isoformat()}T{hh_mm}:00")
    return (local - timedelta(hours=SHIFT)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def spelled(day: date) -> str:
    """A date as Intl writes it in en-US ("Sunday, March 8"), the year when not this one."""
    text = f"{day:%A}, {day:%B} {day.day}"
    return text if day.year == local_day(0).year else f"{text}, {day.year}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("list-site")
    env = site_env(tmp)
    migrate(env)
    server = start_daphne(env, tmp / "daphne.log", port=free_port())
    server.env = env
    yield server
    server.stop()


@pytest.fixture
def person(browser):
    """A page in ZONE, in English, with its own storage (a guest of its own)."""
    contexts = []

    def open_page(width: int = 1100, height: int = 700) -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": height}, timezone_id=ZONE, locale="en-US"
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def new_room(site, name: str) -> int:
    status, room = http(
        "POST", f"{site.http_url}/api/rooms/", {"name": name}, guest(site.http_url)["access"]
    )
    assert status == 201, room
    return room["id"]


def open_room(page: Page, site, room_id: int) -> None:
    page.goto(f"{site.http_url}/rooms/{room_id}/")
    expect(page.locator("#online")).not_to_have_text("0")  # joined
    expect(page.locator("#body")).to_be_enabled()


def me(page: Page) -> dict:
    return json.loads(page.evaluate("localStorage.getItem('chat.user')"))


def seqs_with(page: Page, selector: str) -> list[int]:
    return page.evaluate(
        "s => [...document.querySelectorAll(s)].map(e => +e.closest('.msg').dataset.seq)",
        selector,
    )


def test_separators_runs_the_unread_divider_jump_count_and_announcements(site, person):
    room = new_room(site, "conventions")
    page = person()
    page.goto(f"{site.http_url}/")  # a guest for this page
    expect(page.locator("#me")).not_to_have_text("…")
    reader = me(page)["id"]
    # (seq, author, time, body): across midnight by one author; then 40 older messages of
    # today, read, and 30 unread by someone else.
    before, yesterday, today = local_day(2), local_day(1), local_day(0)
    rows = [
        (1, "a", at(before, "23:58"), "before midnight"),
        (2, "a", at(yesterday, "00:01"), "after midnight"),  # 3 min later, another day
        (3, "a", at(yesterday, "00:03"), "same run"),
        (4, "a", at(yesterday, "00:20"), "a new run"),  # 17 min later
    ]
    rows += [(4 + n, "a", at(today, f"10:{n:02d}"), f"read {n}") for n in range(1, 41)]
    rows += [(44 + n, "b", at(today, f"11:{n:02d}"), f"unread {n}") for n in range(1, 31)]
    run_in_site(
        site,
        "from accounts.services import guest_create; from rooms.models import ChatRoom, "
        "Membership; from messaging.models import ChatMessage; "
        "from django.utils.dateparse import parse_datetime; "
        "authors = {'a': guest_create(), 'b': guest_create()}; "
        f"rows = {rows!r}; "
        f"made = ChatMessage.objects.bulk_create([ChatMessage(room_id={room}, "
        "author=authors[w], body=b, client_id=f'c{s}', seq=s, rev=s) for s, w, t, b in rows]); "
        "[ChatMessage.objects.filter(pk=m.pk).update(created_at=parse_datetime(r[2])) "
        "for m, r in zip(made, rows)]; "
        f"ChatRoom.objects.filter(pk={room}).update(last_seq={len(rows)}); "
        f"Membership.objects.create(room_id={room}, user_id={reader}, role='reader', "
        "last_read_seq=44)",
    )
    open_room(page, site, room)
    # The room opens at the first unread, under its divider; the latest are further down.
    divider = page.locator(".unread-divider")
    expect(divider).to_have_count(1)
    assert seqs_with(page, ".unread-divider") == [45]
    expect(divider).to_be_in_viewport()
    expect(page.locator(".msg[data-seq='74']")).not_to_be_in_viewport()
    expect(page.locator("#new-pill")).to_have_text("30 new messages ↓")
    shot(page, "room-unread-divider")

    # Scrolled back to the start: a separator at each new day, named in words near now.
    page.evaluate("document.querySelector('#scroller').scrollTop = 0")
    expect(page.locator(".msg[data-seq='1']")).to_have_count(1)
    expect(page.locator(".day-sep")).to_have_text([spelled(before), "Yesterday", "Today"])
    assert seqs_with(page, ".day-sep") == [1, 2, 5]
    page.evaluate("document.querySelector('#scroller').scrollTop = 0")
    shot(page, "room-day-separators")
    # One author's messages within 5 minutes on one day share one name.
    assert seqs_with(page, ".msg.grouped") == [3, *range(6, 45), *range(46, 75)]
    # A time says when; its exact time is on hover, and read out.
    time = page.locator(".msg[data-seq='1'] time")
    exact = f"{before:%A}, {before:%B} {before.day}, {before.year} at 11:58 PM"
    expect(time).to_have_attribute("datetime", rows[0][2])
    expect(time).to_have_attribute("title", exact)
    expect(time.locator(".sr-only")).to_have_text(exact)
    # History is never announced.
    expect(page.locator("[role=log] > *")).to_have_count(0)

    # Scrolled up, three new messages by someone else: counted on the jump button (after
    # the 30 unread below), and announced once each.
    other = person()
    open_room(other, site, room)
    for n in range(1, 4):
        say(other, f"live {n}")
    expect(page.locator("#new-pill")).to_have_text("33 new messages ↓")
    log = page.locator("#announcer[role=log]")
    expect(log.locator("p")).to_have_count(3)
    name = other.locator("#me").inner_text()
    expect(log.locator("p")).to_have_text([f"{name}: live {n}" for n in range(1, 4)])
    page.locator("#new-pill").click()
    expect(page.locator("#new-pill")).to_be_hidden()
    expect(page.locator(".msg", has_text="live 3")).to_be_in_viewport()
    # An edit is not a new message: nothing more is announced.
    say(other, "live 4")
    expect(log.locator("p")).to_have_count(4)
    other.locator("#body").press("ArrowUp")
    other.locator(".msg.editing textarea").fill("live 4, edited")
    other.locator(".msg.editing textarea").press("Enter")
    expect(page.locator(".msg .body", has_text="live 4, edited")).to_be_visible()
    expect(page.locator(".msg", has_text="live 4, edited").locator(".edited")).to_be_visible()
    expect(log.locator("p")).to_have_count(4)


def test_a_message_ends_typing_and_the_counter_refuses_over_the_limit(site, person):
    room = new_room(site, "typing")
    one, two = person(), person()
    open_room(one, site, room)
    open_room(two, site, room)
    expect(one.locator("#online")).to_have_text("2")
    two.locator("#body").press_sequentially("on my way")
    expect(one.locator("#typing")).to_contain_text("is typing")
    two.locator("#body").press("Enter")
    expect(one.locator(".msg .body", has_text="on my way")).to_be_visible()
    # Gone with the message, not seconds later (it would otherwise stay 3 s).
    expect(one.locator("#typing")).to_have_text("", timeout=1000)

    limit = int(one.evaluate("document.body.dataset.bodyMax"))
    box = one.locator("#body")
    assert box.get_attribute("maxlength") is None  # nothing is cut
    counter = one.locator("#body-counter")
    box.fill("x" * (limit // 2))
    expect(counter).to_be_hidden()
    box.fill("x" * (limit - 10))
    expect(counter).to_have_text(f"{limit - 10} / {limit}")
    pasted = "y" * (limit + 1000)
    box.fill(pasted)  # as a paste lands: one input event
    expect(counter).to_have_text(f"1000 characters over the limit of {limit}")
    box.press("Enter")
    expect(one.locator("#composer-error")).to_contain_text(f"at most {limit} characters")
    assert box.input_value() == pasted  # kept, all of it
    expect(one.locator(".msg.pending")).to_have_count(0)
    expect(two.locator(".msg")).to_have_count(1)


def test_keyboard_only_send_edit_with_up_and_delete_through_the_menu(site, person):
    room = new_room(site, "keys")
    page = person()
    open_room(page, site, room)
    keys = page.keyboard
    expect(page.locator("#body")).to_be_focused()  # the room opens in the composer
    keys.type("first line")
    keys.press("Shift+Enter")
    keys.type("second line")
    keys.press("Enter")
    mine = page.locator(".msg.mine:not(.pending)")
    expect(mine.locator(".body")).to_have_text("first line\nsecond line")
    keys.type("to be edited")
    keys.press("Enter")
    expect(mine).to_have_count(2)

    # Up in the empty composer edits my last message; Enter saves, the focus comes back.
    keys.press("ArrowUp")
    editor = page.locator(".msg.editing textarea")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("to be edited")
    keys.type(", then edited")
    keys.press("Enter")
    last = mine.last
    expect(last.locator(".body")).to_have_text("to be edited, then edited")
    expect(last.locator(".edited")).to_be_visible()
    expect(page.locator("#body")).to_be_focused()
    # Esc cancels an edit.
    keys.press("ArrowUp")
    expect(editor).to_be_focused()
    keys.press("Escape")
    expect(editor).to_have_count(0)
    expect(page.locator("#body")).to_be_focused()

    # Back from the composer to the last message's actions menu (nothing else in between).
    keys.press("Shift+Tab")
    for _ in range(3):
        if page.evaluate("document.activeElement.classList.contains('menu-button')"):
            break
        keys.press("Shift+Tab")
    button = last.locator(".menu-button")
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-haspopup", "menu")
    # Opened and closed with Esc: the focus goes back to its button.
    keys.press("Enter")
    menu = last.get_by_role("menu")
    expect(menu.get_by_role("menuitem")).to_have_text(
        ["Reply", "React", "Edit", "Delete", "Copy link"]
    )
    expect(menu.get_by_role("menuitem", name="Reply")).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "true")
    keys.press("End")
    expect(menu.get_by_role("menuitem", name="Copy link")).to_be_focused()
    keys.press("ArrowDown")  # round to the first
    expect(menu.get_by_role("menuitem", name="Reply")).to_be_focused()
    keys.press("Escape")
    expect(menu).to_have_count(0)
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")
    # Delete: down to it, Enter, confirm.
    page.once("dialog", lambda dialog: dialog.accept())
    keys.press("ArrowDown")
    for _ in range(3):
        keys.press("ArrowDown")
    expect(last.get_by_role("menuitem", name="Delete")).to_be_focused()
    keys.press("Enter")
    expect(last.locator(".tombstone")).to_have_text("This message was deleted.")
    wait_until(page, "document.activeElement && document.activeElement !== document.body")
    expect(mine.first.locator(".body")).to_have_text("first line\nsecond line")


def test_a_long_room_read_back_keeps_a_bounded_window(site, person):
    """600 messages read back to the first: never more than the window (8 pages of 50) in
    the page, the reader's message still across each load and drop; then the jump button
    brings the latest back."""
    room = new_room(site, "long")
    run_in_site(
        site,
        "from accounts.services import guest_create; from rooms.models import ChatRoom; "
        "from messaging.models import ChatMessage; u = guest_create(); "
        f"ChatMessage.objects.bulk_create([ChatMessage(room_id={room}, author=u, "
        "body=f'line {n}', client_id=f'h{n}', seq=n, rev=n) for n in range(1, 601)]); "
        f"ChatRoom.objects.filter(pk={room}).update(last_seq=600)",
    )
    page = person()
    open_room(page, site, room)
    most = 0
    while not page.locator(".msg[data-seq='1']").count():
        top = page.evaluate(
            """() => { const el = document.querySelector('#messages .msg');
                       document.querySelector('#scroller').scrollTop = 0;
                       return { seq: el.dataset.seq, y: el.getBoundingClientRect().top }; }"""
        )
        wait_until(page, "seq => document.querySelector('#messages .msg').dataset.seq !== seq",
                   top["seq"])  # fmt: skip
        after = page.evaluate(
            "seq => document.querySelector(`.msg[data-seq='${seq}']`).getBoundingClientRect().top",
            top["seq"],
        )
        assert abs(after - top["y"]) <= 3, (top, after)
        most = max(most, page.locator("#messages .msg").count())
    assert most == 400
    assert page.locator(".msg[data-seq='600']").count() == 0  # dropped: loaded again below
    pill = page.locator("#new-pill")
    expect(pill).to_have_text("Jump to the latest messages")
    pill.click()
    expect(page.locator(".msg[data-seq='600']")).to_be_in_viewport()
    expect(pill).to_be_hidden()
