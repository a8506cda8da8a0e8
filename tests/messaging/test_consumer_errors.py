"""What the socket answers to what it cannot do: malformed frames, oversized frames, a
database or store that is away (``unavailable``) and bugs (``internal``)."""

import logging

import pytest
from channels.db import database_sync_to_async
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, ProgrammingError
from redis.exceptions import ConnectionError as RedisConnectionError

from messaging import services
from messaging.models import ChatMessage
from tests.messaging.wsclient import connect

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("layer", "hub_cleanup"),
]


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        '"text"',
        "{}",
        '{"type": "dance"}',
        '{"type": "chat.event", "group": "room.1", "kind": "close", "code": 4403}',
        '{"type": "send", "room": 1}',
        '{"type": "join", "room": "1"}',
        '{"type": "join", "room": -1}',
        '{"type": "join", "room": true}',
        '{"type": "sync", "room": 1}',
        '{"type": "edit", "message": 1}',
    ],
)
async def test_malformed_frames_are_bad_request_and_the_connection_stays(person, raw):
    client = await connect(await person())
    await client.comm.send_to(text_data=raw)
    assert (await client.expect("error"))["code"] == "bad_request"
    await client.send(type="ping")
    await client.expect("pong")
    await client.close()


async def test_a_frame_of_the_wrong_shape_keeps_its_ref(person):
    client = await connect(await person())
    await client.send(type="join", room="lobby", ref="j")
    assert (await client.expect("error"))["ref"] == "j"
    await client.close()


async def test_binary_frames_are_bad_request(person):
    client = await connect(await person())
    await client.comm.send_to(bytes_data=b"\x00\x01")
    assert (await client.expect("error"))["code"] == "bad_request"
    await client.close()


async def test_a_frame_over_64_kib_closes_1009(person, room):
    client = await connect(await person())
    await client.join(room.id)
    await client.send(type="send", room=room.id, body="x" * (70 * 1024), client_id="big")
    assert await client.closed_with() == 1009
    assert await database_sync_to_async(ChatMessage.objects.count)() == 0


def _failing_write(monkeypatch, error: Exception) -> None:
    """Every message write fails with ``error`` inside its transaction: a group's, then each
    send's own (the one-at-a-time fallback)."""

    def fail(**kwargs):
        raise error

    monkeypatch.setattr(services, "room_next_seqs", fail)
    monkeypatch.setattr(services, "room_next_seq", fail)


@pytest.mark.parametrize(
    "error",
    [
        IntegrityError("duplicate key value violates unique constraint"),
        DataError("value too long for type character varying(64)"),
        ProgrammingError('column "client_id" does not exist'),
        RuntimeError("a plain bug"),
    ],
    ids=lambda error: type(error).__name__,
)
async def test_a_bug_is_internal_logged_with_its_traceback_and_the_socket_stays(
    person, room, monkeypatch, caplog, error
):
    client = await connect(await person())
    await client.join(room.id)
    _failing_write(monkeypatch, error)
    with caplog.at_level(logging.ERROR, logger="messaging.consumers"):
        await client.send(type="send", room=room.id, body="hi", client_id="c", ref="s1")
        answer = await client.expect("error")
    assert (answer["code"], answer["ref"]) == ("internal", "s1")
    assert "retry_after" not in answer
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[1] is error]
    assert logged, "the bug is logged with its traceback"
    await client.send(type="ping")
    await client.expect("pong")  # the connection lives on
    assert await database_sync_to_async(ChatMessage.objects.count)() == 0
    await client.close()


@pytest.mark.parametrize(
    "error",
    [OperationalError("server closed the connection unexpectedly"), InterfaceError("closed")],
    ids=lambda error: type(error).__name__,
)
async def test_a_database_out_of_reach_is_unavailable(person, room, monkeypatch, error):
    client = await connect(await person())
    await client.join(room.id)
    _failing_write(monkeypatch, error)
    await client.send(type="send", room=room.id, body="hi", client_id="c", ref="s1")
    answer = await client.expect("error")
    assert (answer["code"], answer["ref"]) == ("unavailable", "s1")
    await client.send(type="ping")
    await client.expect("pong")
    await client.close()


async def test_a_shared_store_out_of_reach_is_unavailable(person, room, monkeypatch):
    async def store_away(**kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(services, "typing_allowed", store_away)
    client = await connect(await person())
    await client.join(room.id)
    await client.send(type="typing", room=room.id, ref="t")
    answer = await client.expect("error")
    assert (answer["code"], answer["ref"]) == ("unavailable", "t")
    await client.close()
