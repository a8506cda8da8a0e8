"""The page shells: the server's limits carried to the browser client (static/js/config.js),
and real not-found pages for a room or a listing that does not exist."""

import re

import pytest
from django.conf import settings
from django.test import Client, override_settings

from accounts.services import guest_create
from rooms.models import ChatRoom
from rooms.services import listing_create

pytestmark = pytest.mark.django_db


def test_limits_come_from_settings_chat_as_data_attributes():
    room = ChatRoom.objects.create(kind="public", name="limits")
    chat = {**settings.CHAT, "BODY_MAX": 321, "HEARTBEAT_INTERVAL": 7.5, "HISTORY_DEFAULT": 20}
    with override_settings(CHAT=chat):
        html = Client().get(f"/rooms/{room.pk}/").content.decode()
    body = re.search(r"<body [^>]*>", html)
    assert body
    assert 'data-body-max="321"' in body.group(0)
    assert 'data-heartbeat-interval="7.5"' in body.group(0)
    assert 'data-history-page="20"' in body.group(0)
    assert f'data-typing-interval="{chat["TYPING_INTERVAL"]}"' in body.group(0)
    # (issue 15) The composer cuts nothing: over the limit it keeps the text and refuses to
    # send it, saying why (static/js/room/composer.js), with a counter near the limit.
    composer = re.search(r'<textarea id="body"[^>]*>', html)
    assert composer and "maxlength" not in composer.group(0)
    assert 'id="body-counter"' in html


@pytest.mark.parametrize(
    ("path", "heading", "back"),
    [
        ("/rooms/999999/", "Room not found", 'href="/"'),
        ("/listings/999999/", "Listing not found", 'href="/listings/"'),
    ],
)
def test_missing_room_or_listing_is_a_404_page_with_a_way_back(path, heading, back):
    response = Client().get(path)
    assert response.status_code == 404
    html = response.content.decode()
    assert f"<h1>{heading}</h1>" in html
    assert f'<a class="button" {back}>' in html
    assert 'data-page="notfound"' in html  # the header (identity, menu) still works


def test_existing_room_and_listing_pages_are_200():
    listing = listing_create(owner=guest_create(), title="Tent")
    room = ChatRoom.objects.create(kind="public", name="here")
    assert Client().get(f"/listings/{listing.pk}/").status_code == 200
    assert Client().get(f"/rooms/{room.pk}/").status_code == 200


def test_theme_is_applied_by_a_script_file_before_the_stylesheet():
    """No inline script (the CSP forbids it): a classic script in <head>, before first paint."""
    html = Client().get("/").content.decode()
    head = html[: html.index("</head>")]
    assert re.search(r'<script src="[^"]*js/theme\.js"></script>', head)
    assert head.index("js/theme.js") < head.index("css/app.css")
    assert "<script>" not in html
    assert "interactive-widget=resizes-content" in head
