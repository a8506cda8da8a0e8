"""A socket's ``error`` frames speak the language of its handshake (issue 15): the user's
settings language, else the language cookie, else Accept-Language."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from chatsite.asgi import application
from notifications.services import settings_update

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("hub_cleanup"),
]

NO_ROOM = {"en": "No such room.", "ko": "해당 방이 없습니다."}
NOT_JSON_KO = "프레임은 JSON 객체여야 합니다."


async def open_socket(user, headers):
    comm = WebsocketCommunicator(
        application,
        "/ws/chat/",
        headers=[(b"origin", b"http://localhost"), *headers],
        subprotocols=["chat.v1", f"bearer.{user.access}"],
    )
    connected, _ = await comm.connect(timeout=5)
    assert connected
    return comm


async def error_detail(comm, raw: str) -> str:
    await comm.send_to(text_data=raw)
    while True:
        frame = json.loads((await comm.receive_output(3))["text"])
        if frame["type"] == "error":
            return frame["detail"]


@pytest.mark.parametrize(
    ("headers", "language"),
    [
        ([], "en"),
        ([(b"accept-language", b"ko-KR,ko;q=0.9,en;q=0.8")], "ko"),
        (
            [
                (b"accept-language", b"ko"),
                (b"cookie", f"{settings.LANGUAGE_COOKIE_NAME}=en".encode()),
            ],
            "en",
        ),
        ([(b"cookie", f"a=b; {settings.LANGUAGE_COOKIE_NAME}=ko".encode())], "ko"),
    ],
)
async def test_error_frames_follow_the_handshakes_language(person, headers, language):
    comm = await open_socket(await person(), headers)
    join = json.dumps({"type": "join", "room": 999999, "ref": "j"})
    assert await error_detail(comm, join) == NO_ROOM[language]
    # And the next frame too (the language holds for the connection, not one frame).
    assert await error_detail(comm, join) == NO_ROOM[language]
    await comm.disconnect()


async def test_a_users_settings_language_wins_over_the_handshake(person):
    user = await person()
    await database_sync_to_async(settings_update)(user=user, language="ko")
    comm = await open_socket(user, [(b"accept-language", b"en")])
    assert await error_detail(comm, "not json") == NOT_JSON_KO
    assert await error_detail(comm, '{"type": "join", "room": 999999}') == NO_ROOM["ko"]
    await comm.disconnect()
