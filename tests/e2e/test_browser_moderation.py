"""Safety as people meet it, in Chromium against Daphne: the guest puzzle with its progress,
reporting and blocking from a message's menu, staff muting from the room page, and a ban
that holds across a reload."""

import re
import sqlite3

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import browser as chromium
from tests.e2e.browser import run_in_site, say, shot
from tests.e2e.site import migrate, site_env
from tests.servers import free_port, start_daphne

browser = chromium.browser  # fixtures
person = chromium.person

POW_BITS = 12  # real puzzles on every first visit here, cheap enough for a test


@pytest.fixture(scope="module")
def site(tmp_path_factory, redis_server):
    tmp = tmp_path_factory.mktemp("moderation-site")
    # With Redis, a ban made by ``run_in_site`` (another process) reaches the server's sockets.
    env = site_env(tmp, CHAT_GUEST_POW_BITS=str(POW_BITS), REDIS_URL=f"{redis_server.url[:-1]}3")
    migrate(env)
    server = start_daphne(env, tmp / "daphne.log", port=free_port())
    server.env = env
    yield server
    server.stop()


def query(site, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(site.env["SQLITE_PATH"]) as db:
        return db.execute(sql, args).fetchall()


def open_general(page: Page, site) -> None:
    page.goto(f"{site.http_url}/")
    page.get_by_role("link", name="general").click()
    expect(page.locator("#room-title")).to_have_text("general")
    expect(page.locator("#body")).to_be_enabled()


def user_id(page: Page) -> int:
    return page.evaluate("JSON.parse(localStorage.getItem('chat.user')).id")


def message_of(page: Page, text: str):
    return page.locator(".msg", has=page.locator(".body", has_text=text))


def test_the_guest_page_solves_the_challenge_and_shows_progress(site, person):
    page = person()
    # Record every text the banner shows, from before the page's scripts run.
    page.add_init_script(
        """
        window.bannerTexts = [];
        new MutationObserver(() => {
          const text = document.querySelector('#banner-text')?.textContent;
          if (text && window.bannerTexts.at(-1) !== text) window.bannerTexts.push(text);
        }).observe(document, { subtree: true, childList: true, characterData: true });
        """
    )
    before = query(site, "select count(*) from accounts_user")[0][0]
    page.goto(f"{site.http_url}/")
    expect(page.locator("#me")).to_have_text(re.compile(r"#\d{4}$"))
    texts = page.evaluate("window.bannerTexts")
    assert any(re.fullmatch(r"Getting you a guest identity… \d+%", t) for t in texts), texts
    expect(page.locator("#banner")).to_be_hidden()
    assert query(site, "select count(*) from accounts_user")[0][0] == before + 1
    origins = "select count(*) from moderation_guestorigin where user_id = ?"
    assert query(site, origins, user_id(page))[0][0] == 1


def test_a_user_reports_a_message_from_its_menu(site, person):
    reporter, spammer = person(), person()
    open_general(reporter, site)
    open_general(spammer, site)
    say(spammer, "cheap watches, message me")
    message = message_of(reporter, "cheap watches")
    expect(message).to_be_visible()
    message.hover()
    message.get_by_role("button", name="Report").click()
    message.get_by_label("Reason").select_option("scam")
    message.get_by_label("Note").fill("a scam")
    message.get_by_role("button", name="Send report").click()
    expect(reporter.locator("#mod-notice")).to_have_text("Thanks — staff will look at it.")
    shot(reporter, "reported")
    rows = query(
        site,
        "select reason, note, target_id, reporter_id from moderation_report where status = 'open'",
    )
    assert ("scam", "a scam", user_id(spammer), user_id(reporter)) in rows


def test_a_blocked_users_messages_collapse_and_can_be_revealed(site, person):
    me, pest = person(), person()
    open_general(me, site)
    open_general(pest, site)
    say(pest, "first from the pest")
    message = message_of(me, "first from the pest")
    expect(message).to_be_visible()
    me.on("dialog", lambda dialog: dialog.accept())
    message.hover()
    message.get_by_role("button", name="Block").click()
    expect(me.locator("#mod-notice")).to_contain_text("You blocked")
    collapsed = me.locator(".msg.from-blocked")
    expect(collapsed).to_have_count(1)
    expect(collapsed.first.locator(".body")).to_contain_text("message from a blocked user")
    expect(me.locator(".msg .body", has_text="first from the pest")).to_have_count(0)
    say(pest, "second from the pest")
    expect(collapsed).to_have_count(2)  # a live one arrives collapsed too
    collapsed.first.get_by_role("button", name="Show").click()
    expect(me.locator(".msg .body", has_text="first from the pest")).to_be_visible()
    shot(me, "blocked-collapsed")
    me.reload()  # the block is the server's: still collapsed after a reload
    expect(me.locator(".msg.from-blocked")).to_have_count(2)


def test_staff_mute_someone_and_set_slow_mode_from_the_room_page(
    site, person
):
    run_in_site(
        site,
        "from accounts.models import User; "
        "User.objects.create_user('moderator', password='a long pass phrase 42', is_staff=True)",
    )
    staff, loud = person(), person()
    staff.goto(f"{site.http_url}/")
    expect(staff.locator("#me")).to_have_text(re.compile(r"#\d{4}$"))
    staff.locator("#me").click()
    staff.locator("#login-form [name=username]").fill("moderator")
    staff.locator("#login-form [name=password]").fill("a long pass phrase 42")
    staff.locator("#login-form button").click()
    # Leaving the unclaimed guest this browser was asks first (issue 15).
    staff.get_by_role("dialog").get_by_role("button", name="Log in anyway").click()
    expect(staff.locator("#me")).to_have_text(re.compile(r"^moderator#"))
    open_general(staff, site)
    open_general(loud, site)
    say(loud, "LOUD MESSAGE")
    message = message_of(staff, "LOUD MESSAGE")
    message.hover()
    message.get_by_role("button", name="Mute 10 min").click()
    expect(staff.locator("#mod-notice")).to_contain_text("Muted")

    say(loud, "can I still talk?")
    lock = loud.locator("#composer-lock")
    expect(lock).to_have_text(re.compile(r"^Staff muted you in this room — (10|9) min left$"))
    expect(loud.locator("#body")).to_be_disabled()
    expect(loud.locator(".msg.failed .state")).to_contain_text("not sent: Staff muted you")
    shot(loud, "muted")
    expect(staff.locator(".msg .body", has_text="can I still talk?")).to_have_count(0)

    # Slow mode, from the same page: staff only; everyone's header follows (a `room` frame).
    expect(loud.locator("#slow-mode-control")).to_be_hidden()
    staff.get_by_label("Slow mode").select_option("30")
    expect(loud.locator("#room-sub")).to_contain_text("slow mode: one message every 30 s")
    expect(staff.locator("#room-sub")).to_contain_text("slow mode: one message every 30 s")
    staff.reload()
    expect(staff.get_by_label("Slow mode")).to_have_value("30")


def test_a_banned_guest_sees_banned_and_no_new_identity_is_made(site, person):
    page = person()
    open_general(page, site)
    me = page.locator("#me").inner_text()
    banned_id = user_id(page)
    users = query(site, "select count(*) from accounts_user")[0][0]
    run_in_site(
        site,
        "from accounts.models import User; from moderation.services import user_ban_holding; "
        f"user_ban_holding(user=User.objects.get(pk={banned_id}), by=None)",
    )
    expect(page.locator("#banner-text")).to_have_text("You are banned from this chat.")
    expect(page.locator("#body")).to_be_disabled()
    expect(page.locator("#composer-lock")).to_have_text("You are banned from this chat.")
    shot(page, "banned")

    page.reload()
    expect(page.locator("#banner-text")).to_have_text(re.compile("banned"))
    expect(page.locator("#body")).to_be_disabled()
    assert user_id(page) == banned_id and page.locator("#me").inner_text() in (me, "…")
    page.evaluate("localStorage.clear()")  # even a wiped browser: the address is barred
    page.reload()
    expect(page.locator("#banner-text")).to_have_text(re.compile("banned|may not create"))
    expect(page.locator("#body")).to_be_disabled()
    assert query(site, "select count(*) from accounts_user")[0][0] == users
