from datetime import UTC, datetime

import pytest
from channels.db import database_sync_to_async
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts.services import guest_create, tokens_for_user
from chatsite.foundation.errors import BadRequest, Empty, Forbidden, NotFound, RoomClosed, TooLong
from chatsite.foundation.wire import encode
from messaging.models import ChatMessage
from messaging.selectors import messages_before
from messaging.serializers import MessageSerializer, message_data
from messaging.services import message_delete, message_edit, message_send
from rooms.models import ChatRoom
from rooms.services import room_set_closed
from tests.factories import ListingFactory, PublicRoomFactory, UserFactory, direct_room, messages
from tests.messaging.wsclient import WsClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def room():
    return PublicRoomFactory()


@pytest.fixture
def author():
    return UserFactory()


def test_send_numbers_messages_in_order(room, author):
    sent = [
        message_send(room_id=room.id, author=author, body=f"m{n}", client_id=f"c{n}")[0]
        for n in range(3)
    ]
    assert [(m.seq, m.rev) for m in sent] == [(1, 1), (2, 2), (3, 3)]
    room.refresh_from_db()
    assert room.last_seq == 3


def test_send_is_idempotent_per_client_id(room, author):
    first, created = message_send(room_id=room.id, author=author, body="hi", client_id="same")
    again, created_again = message_send(room_id=room.id, author=author, body="hi", client_id="same")
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert ChatMessage.objects.count() == 1
    room.refresh_from_db()
    assert room.last_seq == 1


def test_body_is_trimmed_and_bounded(room, author, settings):
    message, _ = message_send(room_id=room.id, author=author, body="  hello\n", client_id="t")
    assert message.body == "hello"
    with pytest.raises(Empty):
        message_send(room_id=room.id, author=author, body=" \n\t ", client_id="e")
    with pytest.raises(TooLong):
        message_send(room_id=room.id, author=author, body="x" * 2001, client_id="l")
    assert message_send(room_id=room.id, author=author, body="x" * 2000, client_id="ok")[0].seq == 2
    room.refresh_from_db()
    assert room.last_seq == 2  # refusals took no number


@pytest.mark.parametrize("client_id", ["", "x" * 65, 5, None])
def test_client_id_must_be_a_short_string(room, author, client_id):
    with pytest.raises(BadRequest):
        message_send(room_id=room.id, author=author, body="hi", client_id=client_id)


def test_send_to_a_closed_room_is_refused_and_writes_nothing(room, author):
    room_set_closed(room=room, closed=True)
    with pytest.raises(RoomClosed):
        message_send(room_id=room.id, author=author, body="hi", client_id="c")
    assert not ChatMessage.objects.exists()


def test_send_to_a_missing_room(author):
    with pytest.raises(NotFound):
        message_send(room_id=987654, author=author, body="hi", client_id="c")


def test_edit_takes_a_new_rev_and_keeps_seq(room, author):
    message, _ = message_send(room_id=room.id, author=author, body="helo", client_id="c")
    message_send(room_id=room.id, author=author, body="other", client_id="d")
    edited = message_edit(message_id=message.id, by=author, body="hello")
    assert (edited.seq, edited.rev, edited.body) == (1, 3, "hello")
    assert edited.edited_at is not None


def test_edit_with_the_same_text_changes_nothing(room, author):
    message, _ = message_send(room_id=room.id, author=author, body="same", client_id="c")
    assert message_edit(message_id=message.id, by=author, body="same").rev == 1
    room.refresh_from_db()
    assert room.last_seq == 1


def test_only_the_author_edits(room, author):
    message, _ = message_send(room_id=room.id, author=author, body="mine", client_id="c")
    with pytest.raises(Forbidden):
        message_edit(message_id=message.id, by=UserFactory(), body="yours")
    room.refresh_from_db()
    assert room.last_seq == 1 and ChatMessage.objects.get().body == "mine"


def test_delete_clears_the_body_once(room, author):
    message, _ = message_send(room_id=room.id, author=author, body="oops", client_id="c")
    deleted = message_delete(message_id=message.id, by=author)
    assert (deleted.body, deleted.rev, deleted.deleted_at is not None) == ("", 2, True)
    assert message_delete(message_id=message.id, by=author).rev == 2
    with pytest.raises(NotFound):
        message_edit(message_id=message.id, by=author, body="back")


def test_staff_may_delete_anyone_else_may_not(room, author):
    message, _ = message_send(room_id=room.id, author=author, body="spam", client_id="c")
    with pytest.raises(Forbidden):
        message_delete(message_id=message.id, by=UserFactory())
    staff = UserFactory(is_staff=True)
    assert message_delete(message_id=message.id, by=staff).deleted_at is not None


def test_staff_may_delete_in_a_closed_room(room, author):
    message, _ = message_send(room_id=room.id, author=author, body="spam", client_id="c")
    room_set_closed(room=room, closed=True)
    assert message_delete(message_id=message.id, by=UserFactory(is_staff=True)).rev == 2


def test_history_latest_page_then_older_pages(guest_client, room, author):
    messages(room=room, author=author, count=120)
    client = guest_client()
    latest = client.get(f"/api/rooms/{room.id}/messages/").json()
    assert [m["seq"] for m in latest["results"]] == list(range(71, 121))
    assert latest["has_more"] is True
    older = client.get(f"/api/rooms/{room.id}/messages/?before=71&limit=100").json()
    assert [m["seq"] for m in older["results"]] == list(range(1, 71))
    assert older["has_more"] is False


def test_history_shows_deleted_messages_without_their_text(guest_client, room, author):
    message, _ = message_send(room_id=room.id, author=author, body="secret", client_id="c")
    message_delete(message_id=message.id, by=author)
    [shown] = guest_client().get(f"/api/rooms/{room.id}/messages/").json()["results"]
    assert (shown["deleted"], shown["body"], shown["rev"]) == (True, "", 2)


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "before=0", "before=abc"])
def test_history_refuses_bad_paging(guest_client, room, query):
    response = guest_client().get(f"/api/rooms/{room.id}/messages/?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_message_wire_shape(guest_client, room, author):
    message_send(room_id=room.id, author=author, body="<b>hi</b>", client_id="c")
    [shown] = guest_client().get(f"/api/rooms/{room.id}/messages/").json()["results"]
    assert set(shown) == {
        "id",
        "room",
        "seq",
        "rev",
        "author",
        "body",
        "client_id",
        "created_at",
        "edited_at",
        "deleted",
        "reply_to",  # (v1.1)
        "mentions",
        "reactions",
        "attachments",  # (v1.1)
    }
    assert shown["attachments"] == []
    assert shown["body"] == "<b>hi</b>"  # stored as typed; clients render it as text
    assert shown["author"]["display_name"] == author.display_name


def test_direct_room_kind_is_returned_with_the_number(author):
    owner = UserFactory()
    room = direct_room(listing=ListingFactory(owner=owner), borrower=author)
    message, _ = message_send(room_id=room.id, author=author, body="hello", client_id="c")
    assert ChatRoom.objects.get(pk=room.pk).last_seq == message.seq == 1


def test_history_page_size_comes_from_settings(guest_client, room, author, settings):
    messages(room=room, author=author, count=30)
    settings.CHAT = {**settings.CHAT, "HISTORY_DEFAULT": 7, "HISTORY_MAX": 20}
    client = guest_client()
    latest = client.get(f"/api/rooms/{room.id}/messages/").json()
    assert [m["seq"] for m in latest["results"]] == list(range(24, 31))
    assert client.get(f"/api/rooms/{room.id}/messages/?limit=20").status_code == 200
    too_many = client.get(f"/api/rooms/{room.id}/messages/?limit=21")
    assert too_many.status_code == 400 and too_many.json()["code"] == "bad_request"


def test_message_fast_path_equals_drf_field_by_field(room, author):
    """``message_data`` (what every frame and page sends) is ``MessageSerializer``'s fields
    walked by DRF, byte for byte: new, edited, deleted, and deleted with text still held."""
    plain, _ = message_send(room_id=room.id, author=author, body="<b>hi</b> ✓", client_id="a")
    edited, _ = message_send(room_id=room.id, author=author, body="helo", client_id="b")
    message_edit(message_id=edited.id, by=author, body="hello")
    gone, _ = message_send(room_id=room.id, author=author, body="oops", client_id="c")
    message_delete(message_id=gone.id, by=author)
    loaded = messages_before(room=room, before=None, limit=10).results
    held = ChatMessage(
        id=99, room=room, author=author, body="kept", client_id="d", seq=9, rev=9,
        created_at=datetime(2026, 11, 22, 10, 1, 2, 123456, tzinfo=UTC),
        deleted_at=datetime(2026, 11, 22, 10, 1, 3, tzinfo=UTC),
    )  # fmt: skip
    assert [m.id for m in loaded] == [plain.id, edited.id, gone.id]
    serializer = MessageSerializer()
    for message in [*loaded, plain, held]:
        generic = serializers.Serializer.to_representation(serializer, message)
        assert encode(message_data(message)) == encode(generic)
        assert encode(serializer.to_representation(message)) == encode(generic)
    assert MessageSerializer(loaded, many=True).data == [message_data(m) for m in loaded]


@pytest.mark.django_db(transaction=True)
async def test_ws_message_frames_equal_the_http_history_items(hub_cleanup):
    """The same message reads the same over the socket (ack, broadcast) and over HTTP."""
    user = await database_sync_to_async(guest_create)()
    access = (await database_sync_to_async(tokens_for_user)(user=user))["access"]
    room = await database_sync_to_async(PublicRoomFactory)()
    ws, connected = await WsClient.open(access)
    assert connected
    await ws.send(type="join", room=room.id)
    await ws.expect("joined")
    latest: dict[int, dict] = {}
    for client_id, body in [("one", "first <i>"), ("two", "second")]:
        await ws.send(type="send", room=room.id, body=body, client_id=client_id)
        ack = await ws.expect("ack", client_id=client_id)
        frame = await ws.expect("message")
        assert frame["message"] == ack["message"]
        latest[frame["message"]["id"]] = frame["message"]
    first, second = list(latest)
    await ws.send(type="edit", message=first, body="first, edited")
    await ws.send(type="delete", message=second)
    for _ in range(2):
        frame = await ws.expect("message")
        latest[frame["message"]["id"]] = frame["message"]
    await ws.close()

    @database_sync_to_async
    def history() -> list[dict]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        return client.get(f"/api/rooms/{room.id}/messages/").json()["results"]

    items = await history()
    assert items == [latest[first], latest[second]]
    assert latest[first]["edited_at"] and latest[second]["deleted"] is True
