"""``send`` with ``attachments`` over the socket (v1.1): the ack and the broadcast carry the
same attachment objects, with the same signed URLs for every receiver."""

import pytest
from channels.db import database_sync_to_async

from messaging.models import Attachment
from tests.messaging.wsclient import connect

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("layer", "hub_cleanup"),
]


@database_sync_to_async
def pending(*, room, user, count):
    return [
        Attachment.objects.create(
            room=room, uploader=user, file=f"rooms/{room.id}/a{n}.webp",
            thumb=f"rooms/{room.id}/a{n}-thumb.webp", content_type="image/webp",
            bytes=100, width=4, height=3, name=f"a{n}.jpg",
        ).pk
        for n in range(count)
    ]  # fmt: skip


async def test_a_send_with_attachments_reaches_everyone_with_the_same_urls(person, room):
    alice, bob = await person(), await person()
    a, b = await connect(alice), await connect(bob)
    await a.join(room.id)
    await b.join(room.id)
    ids = await pending(room=room, user=alice, count=2)
    await a.send(type="send", room=room.id, body="", client_id="p", attachments=ids)
    ack = await a.expect("ack")
    assert [x["id"] for x in ack["message"]["attachments"]] == ids
    assert ack["message"]["attachments"][0]["url"].startswith("/media/rooms/")
    assert (await b.expect("message"))["message"] == ack["message"]
    await a.close()
    await b.close()


async def test_bad_attachments_are_refused_with_a_code_and_nothing_sent(person, room):
    alice, bob = await person(), await person()
    a = await connect(alice)
    await a.join(room.id)
    [bobs] = await pending(room=room, user=bob, count=1)
    mine = await pending(room=room, user=alice, count=5)
    await a.send(type="send", room=room.id, body="", client_id="1", attachments=[bobs], ref="x")
    error = await a.expect("error")
    assert error["code"] == "not_found" and error["ref"] == "x"
    await a.send(type="send", room=room.id, body="", client_id="2", attachments=mine)
    assert (await a.expect("error"))["code"] == "bad_request"
    await a.send(type="send", room=room.id, body="", client_id="3", attachments="1")
    assert (await a.expect("error"))["code"] == "bad_request"
    await a.send(type="send", room=room.id, body="", client_id="4")
    assert (await a.expect("error"))["code"] == "empty"
    assert (
        await database_sync_to_async(Attachment.objects.filter(message__isnull=False).count)() == 0
    )
    await a.close()
