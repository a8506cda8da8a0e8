"""What a hostile socket client finds (issue 17): edits and replays without limit, text the
database refuses, an existence oracle, staff deleting where they cannot read."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import Permission

from messaging.models import ChatMessage
from tests.factories import messages
from tests.messaging.wsclient import connect, make_direct

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("layer", "hub_cleanup"),
]


async def _sent(client, room_id, body, client_id):
    await client.send(type="send", room=room_id, body=body, client_id=client_id)
    acked = (await client.expect("ack"))["message"]
    await client.expect("message")  # its broadcast, after the ack
    return acked


# --- 3. edits, deletes and reads share a budget ----------------------------------------------


async def test_edits_and_deletes_share_the_send_budget(person, room, settings):
    settings.CHAT = {**settings.CHAT, "SEND_RATE": 4, "SEND_WINDOW": 10.0}
    user = await person()
    client = await connect(user)
    await client.join(room.id)
    message = await _sent(client, room.id, "first", "c1")
    for n in range(3):
        await client.send(type="edit", message=message["id"], body=f"edit {n}")
        assert (await client.expect("message"))["message"]["body"] == f"edit {n}"
    await client.send(type="edit", message=message["id"], body="one too many", ref="e9")
    error = await client.expect("error", skip=("message",))
    assert (error["code"], error["ref"]) == ("rate_limited", "e9")
    assert error["retry_after"] >= 1
    await client.send(type="delete", message=message["id"], ref="d9")
    assert (await client.expect("error"))["code"] == "rate_limited"
    stored = await database_sync_to_async(ChatMessage.objects.get)(pk=message["id"])
    assert (stored.body, stored.deleted_at) == ("edit 2", None)
    await client.close()


async def test_reads_have_a_budget_of_their_own(person, room, settings):
    settings.CHAT = {**settings.CHAT, "READ_RATE": 2, "SEND_WINDOW": 10.0}
    user = await person()
    client = await connect(user)
    await client.join(room.id)
    for n in range(3):
        await _sent(client, room.id, f"m{n}", f"c{n}")
    for seq in (1, 2):
        await client.send(type="read", room=room.id, seq=seq)
    await client.send(type="read", room=room.id, seq=3, ref="r3")
    error = await client.expect("error", skip=("message",))
    assert (error["code"], error["ref"]) == ("rate_limited", "r3")
    await client.close()


# --- 4. replays --------------------------------------------------------------------------


async def test_the_same_replay_asked_again_at_once_is_refused(person, room):
    user = await person()
    client = await connect(user)
    await client.join(room.id, cursor=0)
    await client.send(type="sync", room=room.id, cursor=0, ref="again")
    error = await client.expect("error")
    assert (error["code"], error["ref"]) == ("rate_limited", "again")
    assert error["retry_after"] >= 1
    await client.send(type="sync", room=room.id, cursor=1)  # another cursor is served
    await client.expect("joined", room=room.id)
    await client.close()


async def test_replays_are_limited_per_connection_and_per_user(person, room, settings):
    settings.CHAT = {**settings.CHAT, "REPLAY_RATE": 3, "REPLAY_WINDOW": 10.0}
    user = await person()
    first, second, third = await connect(user), await connect(user), await connect(user)
    await first.join(room.id)
    for cursor in range(3):
        await first.send(type="sync", room=room.id, cursor=cursor)
        await first.expect("joined", room=room.id)
    await first.send(type="sync", room=room.id, cursor=7)
    assert (await first.expect("error"))["code"] == "rate_limited"
    # The user's budget (twice the connection's) is shared by the user's other sockets.
    await second.join(room.id)
    for cursor in range(3):
        await second.send(type="sync", room=room.id, cursor=cursor)
        await second.expect("joined", room=room.id)
    await third.send(type="join", room=room.id, cursor=0)
    assert (await third.expect("error"))["code"] == "rate_limited"
    await third.join(room.id)  # a join without a cursor replays nothing and is not counted
    for client in (first, second, third):
        await client.close()


# --- 8. text the database would refuse -------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        {"body": "nul \x00 here", "client_id": "ok"},
        {"body": "bell \x07", "client_id": "ok"},
        {"body": "cr \r", "client_id": "ok"},
        {"body": "fine", "client_id": "nul\x00"},
    ],
)
async def test_control_characters_are_bad_request_on_every_database(person, room, frame):
    client = await connect(await person())
    await client.join(room.id)
    await client.send(type="send", room=room.id, ref="x", **frame)
    error = await client.expect("error")
    assert (error["code"], error["ref"]) == ("bad_request", "x")
    assert await database_sync_to_async(ChatMessage.objects.count)() == 0
    await client.close()


async def test_tab_and_newline_are_kept(person, room):
    client = await connect(await person())
    await client.join(room.id)
    message = await _sent(client, room.id, "a\tb\nc", "tabs")
    assert message["body"] == "a\tb\nc"
    await client.close()


async def test_an_edit_with_nul_is_bad_request_and_changes_nothing(person, room):
    client = await connect(await person())
    await client.join(room.id)
    message = await _sent(client, room.id, "before", "c1")
    await client.send(type="edit", message=message["id"], body="after\x00")
    assert (await client.expect("error"))["code"] == "bad_request"
    stored = await database_sync_to_async(ChatMessage.objects.get)(pk=message["id"])
    assert stored.body == "before"
    await client.close()


@pytest.mark.parametrize("body", ["\u200b", "\u2060\u2060", "\ufeff \u3164", " \u200b\n\u200b "])
async def test_a_body_of_only_invisible_characters_is_empty(person, room, body):
    client = await connect(await person())
    await client.join(room.id)
    await client.send(type="send", room=room.id, body=body, client_id="c")
    assert (await client.expect("error"))["code"] == "empty"
    await client.close()


# --- 10, 11. who may touch a message in a room they cannot read ------------------------------


async def test_edit_or_delete_in_a_direct_room_one_cannot_read_is_not_found(person):
    owner, borrower, stranger = await person(), await person(), await person()
    direct = await make_direct(owner, borrower)
    (theirs,) = await database_sync_to_async(messages)(room=direct, author=owner, count=1)
    client = await connect(stranger)
    await client.send(type="edit", message=theirs.id, body="mine now")
    assert (await client.expect("error"))["code"] == "not_found"
    await client.send(type="delete", message=theirs.id)
    assert (await client.expect("error"))["code"] == "not_found"
    await client.send(type="delete", message=theirs.id + 1000)
    assert (await client.expect("error"))["code"] == "not_found"  # the same as no message
    await client.close()


async def test_staff_without_the_permission_cannot_delete_in_a_room_they_cannot_read(person):
    owner, borrower = await person(), await person()
    staff = await person(is_staff=True, is_guest=False)
    direct = await make_direct(owner, borrower)
    (theirs,) = await database_sync_to_async(messages)(room=direct, author=owner, count=1)
    client = await connect(staff)
    await client.send(type="delete", message=theirs.id)
    assert (await client.expect("error"))["code"] == "not_found"

    @database_sync_to_async
    def grant():
        staff.user_permissions.add(Permission.objects.get(codename="delete_chatmessage"))

    await grant()
    mod = await connect(staff)  # a new socket: the user (and permissions) read afresh
    await mod.send(type="delete", message=theirs.id, ref="mod")
    await mod.send(type="ping")
    await mod.expect("pong")  # frames are handled in order: the delete is done
    stored = await database_sync_to_async(ChatMessage.objects.get)(pk=theirs.id)
    assert stored.deleted_at is not None
    await client.close()
    await mod.close()


async def test_staff_may_still_delete_in_public_rooms(person, room):
    author = await person()
    staff = await person(is_staff=True, is_guest=False)
    (message,) = await database_sync_to_async(messages)(room=room, author=author, count=1)
    client = await connect(staff)
    await client.join(room.id)
    await client.send(type="delete", message=message.id)
    frame = await client.expect("message")
    assert frame["message"]["deleted"] is True
    await client.close()
