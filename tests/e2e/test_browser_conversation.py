"""(v1.1) Conversation in the browser: replies and jumping to far-away parents, mentions with
keyboard completion, reactions seen live by another page, and search opening a room at the
message. Debian's Chromium driven by Playwright against Daphne on SQLite."""

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import browser as chromium
from tests.e2e.browser import run_in_site, say, shot, wait_until
from tests.e2e.site import guest, http, migrate, site_env
from tests.servers import free_port, start_daphne

HIGHLIGHTED = re.compile(r"\bhighlight\b")

browser = chromium.browser  # fixtures
person = chromium.person


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("conversation-site")
    env = site_env(tmp)
    migrate(env)
    server = start_daphne(env, tmp / "daphne.log", port=free_port())
    server.env = env
    yield server
    server.stop()


def new_room(site, name: str) -> int:
    """A fresh public room (by a throwaway guest), so tests do not see each other."""
    status, room = http(
        "POST", f"{site.http_url}/api/rooms/", {"name": name}, guest(site.http_url)["access"]
    )
    assert status == 201, room
    return room["id"]


def seed(site, room_id: int, count: int, *, body: str = "line {n}") -> None:
    """``count`` messages by one guest in the room, numbered from 1 (the room must be new)."""
    run_in_site(
        site,
        "from accounts.services import guest_create; from rooms.models import ChatRoom; "
        "from messaging.models import ChatMessage; u = guest_create(); "
        f"ChatMessage.objects.bulk_create([ChatMessage(room_id={room_id}, author=u, "
        f"body={body!r}.format(n=n), client_id=f'h{{n}}', seq=n, rev=n) "
        f"for n in range(1, {count} + 1)]); "
        f"ChatRoom.objects.filter(pk={room_id}).update(last_seq={count})",
    )


def open_room(page: Page, site, room_id: int, query: str = "") -> None:
    page.goto(f"{site.http_url}/rooms/{room_id}/{query}")
    expect(page.locator("#online")).not_to_have_text("0")  # joined
    expect(page.locator("#body")).to_be_enabled()


def shown_seqs(page: Page) -> list[int]:
    return page.evaluate(
        "[...document.querySelectorAll('#messages .msg')].map(e => +e.dataset.seq)"
    )


def message(page: Page, text: str):
    return page.locator("#messages .msg", has=page.locator(".body", has_text=text))


def test_reply_then_jump_to_a_far_away_parent_and_scroll_both_ways(site, person):
    room = new_room(site, "threads")
    seed(site, room, 300)
    run_in_site(
        site,
        "from messaging.models import ChatMessage; from rooms.models import ChatRoom; "
        f"p = ChatMessage.objects.get(room_id={room}, seq=10); "
        f"ChatMessage.objects.create(room_id={room}, author=p.author, body='answering ten', "
        "client_id='reply', seq=301, rev=301, reply_to=p); "
        f"ChatRoom.objects.filter(pk={room}).update(last_seq=301)",
    )
    page = person()
    open_room(page, site, room)
    expect(page.locator("#messages .msg")).to_have_count(50)
    expect(page.locator("#messages .msg").last.locator(".body")).to_have_text("answering ten")
    expect(page.locator(".msg[data-seq='10']")).to_have_count(0)  # far away

    # Reply to a message on screen: the new message carries its preview.
    target = message(page, "line 299")
    target.hover()
    target.get_by_role("button", name="Reply").click()
    expect(page.locator("#reply-bar")).to_contain_text("line 299")
    say(page, "me too")
    mine = page.locator(".msg.mine", has=page.locator(".body", has_text="me too"))
    expect(mine.locator(".reply-preview")).to_contain_text("line 299")
    expect(page.locator("#reply-bar")).to_be_hidden()

    # Jump to a parent that is not loaded: the list opens around it, highlighted.
    message(page, "answering ten").locator(".reply-preview").click()
    parent = page.locator(".msg[data-seq='10']")
    expect(parent).to_have_class(HIGHLIGHTED)
    expect(parent).to_be_in_viewport()
    assert "null" not in page.locator("#messages").inner_text()  # nothing missing drawn as text
    seqs = shown_seqs(page)
    assert seqs == list(range(1, 36)), seqs  # ⌊49/2⌋ before it (only 9 exist), 25 after
    expect(page.locator("#history-status")).to_have_text(
        "This is the beginning of the conversation."
    )
    expect(page.locator("#new-pill")).to_have_text("Jump to the latest messages")
    shot(page, "reply-jump")

    # Down from there, page by page, the view staying put, until the live end.
    for _ in range(8):
        # Counted before scrolling: the page may arrive before a count taken after.
        shown = page.locator("#messages .msg").count()
        page.evaluate("document.querySelector('#scroller').scrollTop = 1e9")
        wait_until(page, "n => document.querySelectorAll('#messages .msg').length > n", arg=shown)
        if page.locator(".msg[data-seq='302']").count():
            break
    expect(page.locator(".msg[data-seq='302']")).to_have_count(1)  # "me too"
    seqs = shown_seqs(page)
    assert seqs == list(range(1, 303)), seqs[-5:]
    expect(page.locator("#new-pill")).to_be_hidden()


def test_opening_a_room_at_a_message_pages_both_ways(site, person):
    room = new_room(site, "deep")
    seed(site, room, 400)
    page = person()
    status, found = http(
        "GET",
        f"{site.http_url}/api/rooms/{room}/messages/?around=200&limit=1",
        token=guest(site.http_url)["access"],
    )
    assert status == 200
    message_id = found["results"][0]["id"]
    open_room(page, site, room, f"?message={message_id}")
    target = page.locator(".msg[data-seq='200']")
    expect(target).to_have_class(HIGHLIGHTED)
    expect(target).to_be_in_viewport()
    page.evaluate("document.querySelector('#scroller').scrollTop = 0")  # older, above
    expect(page.locator(".msg[data-seq='150']")).to_have_count(1)
    page.evaluate("document.querySelector('#scroller').scrollTop = 1e9")  # newer, below
    expect(page.locator(".msg[data-seq='250']")).to_have_count(1)
    seqs = shown_seqs(page)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) and seqs[-1] > 224


def test_mention_with_keyboard_completion(site, person):
    room = new_room(site, "mentions")
    one, two, three = person(), person(), person()
    for page in (one, two, three):
        open_room(page, site, room)
    expect(one.locator("#online")).to_have_text("3")
    say(two, "two here")
    say(three, "three here")
    expect(one.locator(".msg")).to_have_count(2)
    box = one.locator("#body")
    box.press_sequentially("hey @")
    options = one.locator("#mention-list [role=option]")
    expect(options).to_have_count(2)
    expect(options.first).to_have_attribute("aria-selected", "true")
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    chosen = options.nth(1).inner_text()
    box.press("Enter")  # takes the name, does not send
    expect(one.locator("#mention-list")).to_be_hidden()
    assert box.input_value() == f"hey @{chosen} "
    box.press_sequentially("look")
    box.press("Enter")
    whom = two if two.locator("#me").inner_text() == chosen else three
    other = three if whom is two else two
    sent = message(whom, "look")
    expect(sent).to_have_class(re.compile(r"\bmentions-me\b"))
    expect(sent.locator(".mention.me")).to_have_text(f"@{chosen}")
    expect(message(other, "look").locator(".mention")).to_have_text(f"@{chosen}")
    expect(message(other, "look").locator(".mention.me")).to_have_count(0)
    shot(whom, "mention")


def test_react_and_unreact_seen_by_a_second_page(site, person):
    room = new_room(site, "reactions")
    one, two = person(), person()
    open_room(one, site, room)
    open_room(two, site, room)
    say(one, "react to me")
    target = message(two, "react to me")
    target.hover()
    target.get_by_role("button", name="React").click()
    target.locator(".picker button", has_text="🎉").click()
    for page, pressed in ((one, "false"), (two, "true")):
        chip = message(page, "react to me").locator(".reaction")
        expect(chip).to_have_text("🎉 1")
        expect(chip).to_have_attribute("aria-pressed", pressed)
    message(one, "react to me").locator(".reaction").click()  # one joins in
    expect(message(two, "react to me").locator(".reaction")).to_have_text("🎉 2")
    shot(two, "reactions")
    message(two, "react to me").locator(".reaction").click()  # two takes it back
    message(one, "react to me").locator(".reaction").click()
    for page in (one, two):
        expect(message(page, "react to me").locator(".reaction")).to_have_count(0)


def test_search_from_any_page_opens_the_room_at_the_message(site, person):
    room = new_room(site, "findings")
    token = uuid.uuid4().hex[:8]
    seed(site, room, 200, body="line {n}")
    run_in_site(
        site,
        "from messaging.models import ChatMessage; "
        f"ChatMessage.objects.filter(room_id={room}, seq=20)"
        f".update(body='텐트 camping 빌려요 {token}')",
    )
    page = person()
    page.goto(f"{site.http_url}/listings/")
    page.locator("#search-q").fill(f"camping 빌려요 {token}")
    page.locator("#search-q").press("Enter")
    hit = page.locator("#search-list .search-hit a")
    expect(hit).to_have_count(1)
    expect(hit).to_contain_text("findings")
    expect(hit).to_contain_text(f"텐트 camping 빌려요 {token}")
    shot(page, "search")
    hit.click()
    page.wait_for_url(f"**/rooms/{room}/?message=*")
    target = page.locator(".msg[data-seq='20']")
    expect(target).to_have_class(HIGHLIGHTED)
    expect(target).to_be_in_viewport()
    expect(page.locator("#search-q")).to_be_enabled()  # the box is on the room page too


def test_a_reply_preview_follows_its_parent_live(site, person):
    room = new_room(site, "previews")
    one, two = person(), person()
    open_room(one, site, room)
    open_room(two, site, room)
    say(one, "original words")
    parent = message(two, "original words")
    parent.hover()
    parent.get_by_role("button", name="Reply").click()
    say(two, "an answer")
    preview = message(one, "an answer").locator(".reply-preview")
    expect(preview).to_contain_text("original words")
    mine = one.locator(f".msg[data-id='{message(one, 'original words').get_attribute('data-id')}']")
    mine.hover()
    mine.get_by_role("button", name="Edit").click()
    mine.locator("textarea.edit").fill("changed words")
    mine.locator("textarea.edit").press("Enter")
    for page in (one, two):  # the parent's change redraws the replies pointing at it
        expect(message(page, "an answer").locator(".reply-preview .excerpt")).to_have_text(
            "changed words"
        )
    one.on("dialog", lambda dialog: dialog.accept())
    mine.hover()
    mine.get_by_role("button", name="Delete").click()
    for page in (one, two):
        expect(message(page, "an answer").locator(".reply-preview .excerpt")).to_have_text(
            "message deleted"
        )
    two.reload()  # a new page builds the preview from the parent as it is now
    expect(message(two, "an answer").locator(".reply-preview .excerpt")).to_have_text(
        "message deleted"
    )
