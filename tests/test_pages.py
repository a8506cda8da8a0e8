"""The page shells carry the server's limits to the browser client (static/js/config.js)."""

import re

from django.conf import settings
from django.test import Client, override_settings


def test_limits_come_from_settings_chat_as_data_attributes():
    chat = {**settings.CHAT, "BODY_MAX": 321, "HEARTBEAT_INTERVAL": 7.5, "HISTORY_DEFAULT": 20}
    with override_settings(CHAT=chat):
        html = Client().get("/rooms/1/").content.decode()
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
