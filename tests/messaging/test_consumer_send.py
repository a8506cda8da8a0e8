"""Writing through the socket: ``send`` and its ``ack``, ``edit``, ``delete``, ``read``."""

import pytest
from channels.db import database_sync_to_async

from messaging.models import ChatMessage
from messaging.services import message_delete
from rooms.models import ChatRoom, Membership
from tests.factories import PublicRoomFactory, UserFactory
from tests.messaging.wsclient import connect, make_direct

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("layer", "hub_cleanup"),
]


async def test_send_acks_the_sender_and_broadcasts_to_the_room(person, room):
    alice, bob = await person(), await person()
    a, b = await connect(alice), await connect(bob)
    await a.join(room.id)
    await b.join(room.id)
    await a.send(type="send", room=room.id, body="hello bob", client_id="c-1", ref="r1")
    ack = await a.expect("ack")
    assert ack["client_id"] == "c-1" and ack["ref"] == "r1"
    assert ack["message"]["body"] == "hello bob" and ack["message"]["seq"] == 1
    received = await b.expect("message")
    assert received["message"] == ack["message"]
    assert (await a.expect("message"))["message"]["id"] == ack["message"]["id"]
    stored = await database_sync_to_async(ChatMessage.objects.get)()
    assert stored.author_id == alice.id
    await a.close()
    await b.close()


async def test_sends_and_deliveries_are_counted_in_metrics(person, room):
    from chatsite.foundation import metrics

    sent = metrics.messages_sent_total._value.get()
    delivered = metrics.deliveries_total._value.get()
    a, b = await connect(await person()), await connect(await person())
    await a.join(room.id)
    await b.join(room.id)
    await a.send(type="send", room=room.id, body="count me", client_id="m")
    await a.expect("ack")
    await b.expect("message")
    assert metrics.messages_sent_total._value.get() == sent + 1
    assert metrics.deliveries_total._value.get() >= delivered + 2
    await a.close()
    await b.close()


async def test_a_repeated_client_id_acks_the_stored_message_and_broadcasts_nothing(person, room):
    alice, bob = await person(), await person()
    a, b = await connect(alice), await connect(bob)
    await a.join(room.id)
    await b.join(room.id)
    await a.send(type="send", room=room.id, body="once", client_id="dup")
    first = await a.expect("ack")
    await b.expect("message")
    await a.expect("message")  # the sender's own echo
    await a.send(type="send", room=room.id, body="once", client_id="dup")
    again = await a.expect("ack")
    assert again["message"] == first["message"]
    await b.nothing_but_quiet()
    assert await database_sync_to_async(ChatMessage.objects.count)() == 1
    await a.close()
    await b.close()


async def test_a_client_id_used_in_another_room_is_a_new_message_there(person, room):
    """Idempotency is per room: the ack never carries another room's message."""
    alice, bob = await person(), await person()
    other = await database_sync_to_async(PublicRoomFactory)(name="other")
    a, b = await connect(alice), await connect(bob)
    await a.join(room.id)
    await a.join(other.id)
    await b.join(other.id)
    await a.send(type="send", room=room.id, body="in the lobby", client_id="same")
    first = (await a.expect("ack", skip=("message",)))["message"]
    await a.send(type="send", room=other.id, body="in the other room", client_id="same")
    ack = (await a.expect("ack", skip=("message",)))["message"]
    assert (ack["room"], ack["body"], ack["seq"]) == (other.id, "in the other room", 1)
    assert ack["id"] != first["id"]
    assert (await b.expect("message"))["message"] == ack
    assert await database_sync_to_async(ChatMessage.objects.count)() == 2
    await a.close()
    await b.close()


async def test_identity_fields_in_a_frame_are_ignored(person, room):
    alice, mallory = await person(), await person()
    m = await connect(mallory)
    await m.join(room.id)
    await m.send(
        type="send", room=room.id, body="hi", client_id="c", author=alice.id, user=alice.id
    )
    ack = await m.expect("ack")
    assert ack["message"]["author"]["id"] == mallory.id
    await m.close()


async def test_send_before_join_is_not_joined(person, room):
    client = await connect(await person())
    await client.send(type="send", room=room.id, body="hi", client_id="c")
    assert (await client.expect("error"))["code"] == "not_joined"
    assert await database_sync_to_async(ChatMessage.objects.count)() == 0
    await client.close()


@pytest.mark.parametrize(
    ("body", "code"),
    [("", "empty"), ("   \n ", "empty"), ("x" * 2001, "too_long"), (7, "bad_request")],
)
async def test_bad_bodies_are_refused_and_write_nothing(person, room, body, code):
    client = await connect(await person())
    await client.join(room.id)
    await client.send(type="send", room=room.id, body=body, client_id="c", ref="b")
    error = await client.expect("error")
    assert (error["code"], error["ref"]) == (code, "b")
    assert error["detail"]
    assert await database_sync_to_async(ChatMessage.objects.count)() == 0
    await client.send(type="ping")
    assert (await client.expect("pong"))["type"] == "pong"  # the connection lives on
    await client.close()


async def test_send_to_a_closed_room(person, room):
    client = await connect(await person())
    await client.join(room.id)
    await database_sync_to_async(ChatRoom.objects.filter(pk=room.id).update)(is_closed=True)
    await client.send(type="send", room=room.id, body="hi", client_id="c")
    assert (await client.expect("error"))["code"] == "room_closed"
    await client.close()


async def test_edit_and_delete_reach_the_room_with_new_revs(person, room):
    alice, bob = await person(), await person()
    a, b = await connect(alice), await connect(bob)
    await a.join(room.id)
    await b.join(room.id)
    await a.send(type="send", room=room.id, body="helo", client_id="c")
    message_id = (await a.expect("ack"))["message"]["id"]
    await b.expect("message")
    await a.send(type="edit", message=message_id, body="hello")
    edited = (await b.expect("message"))["message"]
    assert (edited["body"], edited["seq"], edited["rev"]) == ("hello", 1, 2)
    assert edited["edited_at"] is not None
    await a.send(type="delete", message=message_id)
    deleted = (await b.expect("message", timeout=3))["message"]
    assert (deleted["deleted"], deleted["body"], deleted["rev"]) == (True, "", 3)
    await a.close()
    await b.close()


async def test_only_the_author_edits_and_staff_may_delete(person, room):
    alice, bob, staff = await person(), await person(), await person(is_staff=True)
    a, b, s = await connect(alice), await connect(bob), await connect(staff)
    await a.join(room.id)
    await a.send(type="send", room=room.id, body="mine", client_id="c")
    message_id = (await a.expect("ack"))["message"]["id"]
    await b.send(type="edit", message=message_id, body="yours", ref="e")
    assert (await b.expect("error"))["code"] == "forbidden"
    await b.send(type="delete", message=message_id)
    assert (await b.expect("error"))["code"] == "forbidden"
    await b.send(type="edit", message=123_456, body="x")
    assert (await b.expect("error"))["code"] == "not_found"
    await s.send(type="delete", message=message_id)
    await a.expect("message")  # a's own send
    assert (await a.expect("message"))["message"]["deleted"] is True
    for client in (a, b, s):
        await client.close()


async def test_admin_removal_vanishes_live(person, room):
    alice = await person()
    a = await connect(alice)
    await a.join(room.id)
    await a.send(type="send", room=room.id, body="bad words", client_id="c")
    message_id = (await a.expect("ack"))["message"]["id"]
    await a.expect("message")
    staff = await database_sync_to_async(UserFactory)(is_staff=True)
    await database_sync_to_async(message_delete)(message_id=message_id, by=staff)
    assert (await a.expect("message"))["message"]["deleted"] is True
    await a.close()


async def test_read_moves_forward_and_tells_the_room(person):
    owner, borrower = await person(), await person()
    direct = await make_direct(owner, borrower)
    o, b = await connect(owner), await connect(borrower)
    await o.join(direct.id)
    await b.join(direct.id)
    for n in range(3):
        await o.send(type="send", room=direct.id, body=f"m{n}", client_id=f"c{n}")
        await o.expect("ack", skip=("message",))
    await b.send(type="read", room=direct.id, seq=2)
    frame = await o.expect("read", skip=("message",))
    assert (frame["user"]["id"], frame["seq"]) == (borrower.id, 2)
    await b.send(type="read", room=direct.id, seq=1)  # backwards: no frame, no change
    membership = await database_sync_to_async(Membership.objects.get)(room=direct, user=borrower)
    assert membership.last_read_seq == 2
    await o.close()
    await b.close()
