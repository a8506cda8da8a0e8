"""A small populated site for the page-wide browser checks (axe, layout, screenshots): two
guests, a listing, the direct room about it, and messages in it and in ``general``, so every
page has its real content when it is checked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.browser import run_in_site, wait_until
from tests.e2e.site import general_room, guest, http, migrate, site_env
from tests.servers import free_port, start_daphne

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
NARROW = {"width": 360, "height": 740}


@dataclass
class World:
    url: str
    owner: dict[str, Any]  # a guest's token response: access, refresh, user
    visitor: dict[str, Any]
    general: int
    direct: int
    listing: int

    def pages(self) -> dict[str, str]:
        """Every page of the client, by name (the direct room shows the listing card)."""
        return {
            "lobby": "/",
            "room": f"/rooms/{self.general}/",
            "direct": f"/rooms/{self.direct}/",
            "inbox": "/inbox/",
            "listings": "/listings/",
            "listing": f"/listings/{self.listing}/",
            "settings": "/settings/",
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Any:
    tmp = tmp_path_factory.mktemp("pages-site")
    env = site_env(tmp)
    migrate(env)
    server = start_daphne(env, tmp / "daphne.log", port=free_port())
    server.env = env
    url = server.http_url
    owner, visitor = guest(url), guest(url)
    status, listing = http(
        "POST",
        f"{url}/api/listings/",
        {"title": "Camping tent", "description": "Sleeps two; poles and pegs included."},
        token=owner["access"],
    )
    assert status == 201, listing
    chat = f"{url}/api/listings/{listing['id']}/chat/"
    status, direct = http("POST", chat, token=visitor["access"])
    assert status in (200, 201), direct
    general = general_room(url, owner["access"])
    lines = [
        (visitor, direct["id"], "Hi! Is the tent free this weekend?"),
        (owner, direct["id"], "Yes, from Friday evening. Want to pick it up at six?"),
        (visitor, direct["id"], "Six works. Thanks!"),
        (owner, general, "Good morning, everyone"),
        (visitor, general, "Morning! Anyone up for a walk at noon? https://example.com/map"),
        (owner, general, "Count me in.\nI'll bring coffee."),
    ]
    code = "from accounts.models import User; from messaging.services import message_send; "
    for n, (who, room, body) in enumerate(lines):
        code += (
            f"message_send(room_id={room}, author=User.objects.get(pk={who['user']['id']}), "
            f"body={body!r}, client_id='seed{n}'); "
        )
    run_in_site(server, code)
    yield World(url, owner, visitor, general, direct["id"], listing["id"])
    server.stop()


def signed_in(
    browser: Browser,
    world: World,
    *,
    viewport: dict[str, int] = DESKTOP,
    scheme: str = "light",
    theme: str | None = None,
    language: str = "en",
    who: dict[str, Any] | None = None,
) -> tuple[BrowserContext, Page]:
    """A context that is ``who`` (a guest's token response; ``world.visitor`` by default;
    tokens in localStorage before any page script runs), in the colour scheme ``scheme``, with
    the account menu's theme ``theme`` (None: follow the system) and the browser's language
    ``language``."""
    who = who or world.visitor
    context = browser.new_context(
        viewport=viewport,
        color_scheme=scheme,  # type: ignore[arg-type]  # "light" | "dark"
        locale=language,
        extra_http_headers={"Accept-Language": language},
    )
    # Django's language cookie: the switcher's choice (issue 15); ignored until i18n merges.
    context.add_cookies([{"name": "django_language", "value": language, "url": world.url}])
    stored = {
        "chat.access": who["access"],
        "chat.refresh": who["refresh"],
        "chat.user": json.dumps(who["user"]),
    }
    if theme:
        stored["chat.theme"] = theme
    # Runs through the debugger protocol, before the page's own scripts (the CSP does not
    # apply to it): the first paint already has the identity and the theme. Once per
    # context: a later log-out must not be undone by the next page load.
    context.add_init_script(
        "const seed = " + json.dumps(stored) + ";"
        "if (!localStorage.getItem('test.seeded')) {"
        " for (const [k, v] of Object.entries(seed)) localStorage.setItem(k, v);"
        " localStorage.setItem('test.seeded', '1'); }"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def open_page(page: Page, world: World, name: str) -> None:
    """Go to page ``name`` and wait until its content from the API is in."""
    page.goto(world.url + world.pages()[name])
    expect(page.locator("#me")).not_to_have_text("…")
    if name in ("room", "direct"):
        expect(page.locator("#messages .msg").first).to_be_visible()
        expect(page.locator("#online")).not_to_have_text("0")
        if name == "direct":
            expect(page.locator("#listing-card")).to_be_visible()
    elif name == "lobby":
        expect(page.locator("#room-list .card").first).to_be_visible()
    elif name == "inbox":
        expect(page.locator("#inbox-list .card").first).to_be_visible()
    elif name == "listings":
        expect(page.locator("#listing-list .card").first).to_be_visible()
    elif name == "listing":
        expect(page.locator("#listing-title")).to_have_text("Camping tent")
    elif name == "settings":
        expect(page.locator("#settings-form button[type=submit]")).to_be_enabled()
    # Fonts and images settled: screenshots and geometry are of the finished page.
    wait_until(page, "document.fonts.status === 'loaded'")
