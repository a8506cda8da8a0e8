"""Room attachments (PROTOCOL.md (v1.1)): upload, signed URLs, send, edit, delete, purge."""

from datetime import timedelta
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework import serializers

from chatsite.foundation.errors import BadRequest, Empty, NotFound
from chatsite.foundation.wire import encode
from images import storage
from messaging.attachments import attachments_purge_pending
from messaging.models import Attachment, ChatMessage
from messaging.purge import rooms_purge_idle
from messaging.serializers import MessageSerializer, message_data
from messaging.services import message_delete, message_edit, message_send
from rooms.models import ChatRoom
from tests.factories import ListingFactory, PublicRoomFactory, direct_room
from tests.images import samples
from tests.images.conftest import stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def room():
    return PublicRoomFactory(name="lobby")


def upload(client, room_id, data=None, name="tent.jpg", content_type="image/jpeg"):
    data = samples.jpeg(gps=True) if data is None else data
    return client.post(
        f"/api/rooms/{room_id}/attachments/",
        {"file": samples.upload(data, name, content_type)},
        format="multipart",
    )


def test_an_upload_is_stored_re_encoded_with_a_thumbnail(guest_client, room, media_root):
    client = guest_client()
    response = upload(client, room.id)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id", "kind", "content_type", "bytes", "width", "height", "name", "url", "thumb_url"
    }  # fmt: skip
    assert body["kind"] == "image" and body["content_type"] == "image/jpeg"
    assert (body["width"], body["height"], body["name"]) == (64, 32, "tent.jpg")
    stored = Attachment.objects.get()
    assert stored.message is None and stored.uploader_id == client.user.id
    assert stored_files(media_root) == sorted([stored.file, stored.thumb])
    assert (media_root / stored.file).stat().st_size == body["bytes"]


def test_a_signed_url_serves_the_bytes_with_safe_headers(guest_client, room, media_root):
    body = upload(guest_client(), room.id).json()
    response = guest_client().get(body["url"])  # anyone holding the URL
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == "inline"
    assert response["Cache-Control"].startswith("private, max-age=")
    assert int(response["Cache-Control"].split("max-age=")[1].split(",")[0]) >= 23 * 3600
    assert guest_client().get(body["thumb_url"]).status_code == 200


def test_an_altered_or_expired_url_is_403(guest_client, room):
    body = upload(guest_client(), room.id).json()
    url = urlsplit(body["url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    name = url.path.removeprefix("/media/")
    client = guest_client()
    assert client.get(url.path, {**query, "s": query["s"][:-1] + "x"}).status_code == 403
    assert client.get(url.path, {**query, "e": str(int(query["e"]) + 1)}).status_code == 403
    other = Attachment.objects.get().thumb
    assert client.get(f"/media/{other}", query).status_code == 403  # another file's signature
    past = int(timezone.now().timestamp()) - 1
    expired = {"e": str(past), "s": storage._signature(name, past)}
    assert client.get(url.path, expired).status_code == 403


def test_urls_signed_within_one_bucket_are_the_same_string(settings):
    now = 1_800_000_000
    assert storage.url_expiry(now) == storage.url_expiry(now + 1)
    assert storage.url_expiry(now) - now >= settings.CHAT["MEDIA_URL_TTL"]


@pytest.mark.parametrize(
    ("data", "name", "content_type", "status", "code"),
    [
        pytest.param(samples.jpeg(300, 200, noise=True)[:2000], "a.jpg", "image/jpeg", 415,
                     "unsupported_media", id="truncated-jpeg"),
        pytest.param(samples.png_bomb(), "bomb.png", "image/png", 413, "too_large", id="png-bomb"),
        pytest.param(samples.SVG, "cat.jpg", "image/jpeg", 415, "unsupported_media", id="svg"),
        pytest.param(samples.HTML, "cat.jpg", "image/jpeg", 415, "unsupported_media", id="html"),
        pytest.param(b"", "empty.jpg", "image/jpeg", 415, "unsupported_media", id="zero-bytes"),
    ],
)  # fmt: skip
def test_hostile_files_are_refused_and_nothing_is_stored(
    guest_client, room, media_root, data, name, content_type, status, code
):
    response = upload(guest_client(), room.id, data, name, content_type)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code and response.json()["detail"]
    assert not Attachment.objects.exists() and stored_files(media_root) == []


def test_a_missing_file_field_is_a_bad_request(guest_client, room):
    response = guest_client().post(
        f"/api/rooms/{room.id}/attachments/",
        {"photo": samples.upload(samples.jpeg())},
        format="multipart",
    )
    assert response.status_code == 400 and response.json()["code"] == "bad_request"
    assert not Attachment.objects.exists()


def test_over_the_byte_limit_is_413_declared_or_counted(guest_client, room, settings, media_root):
    settings.CHAT = {**settings.CHAT, "UPLOAD_MAX_BYTES": 100_000}
    client = guest_client()
    declared = upload(client, room.id, b"\xff" * 200_000)  # Content-Length alone refuses it
    counted = upload(client, room.id, b"\xff" * 110_000)  # within the slack: counted
    for response in (declared, counted):
        assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert not Attachment.objects.exists() and stored_files(media_root) == []


def test_uploads_are_rate_limited_per_user(guest_client, room, settings):
    settings.CHAT = {**settings.CHAT, "UPLOAD_RATE": 2}
    client = guest_client()
    assert [upload(client, room.id).status_code for _ in range(2)] == [201, 201]
    refused = upload(client, room.id)
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert 0 < refused.json()["retry_after"] <= settings.CHAT["UPLOAD_WINDOW"]
    assert upload(guest_client(), room.id).status_code == 201  # another user


def test_uploading_into_someone_elses_direct_room_is_404(guest_client):
    owner, borrower = guest_client(), guest_client()
    room = direct_room(listing=ListingFactory(owner=owner.user), borrower=borrower.user)
    assert upload(borrower, room.id).status_code == 201
    response = upload(guest_client(), room.id)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


# --- sending ------------------------------------------------------------------------------


def pending(client, room_id, count=1):
    return [upload(client, room_id).json()["id"] for _ in range(count)]


def test_a_send_with_attachments_may_have_no_text(guest_client, room):
    client = guest_client()
    ids = pending(client, room.id, 2)[::-1]
    message, created = message_send(
        room_id=room.id, author=client.user, body="  ", client_id="c", attachments=ids
    )
    assert created and message.body == ""
    data = message_data(message)
    assert [a["id"] for a in data["attachments"]] == ids  # the sender's order
    assert set(Attachment.objects.values_list("message_id", flat=True)) == {message.id}
    again, created = message_send(
        room_id=room.id, author=client.user, body="", client_id="c", attachments=ids
    )
    assert not created and again.id == message.id  # a retry: the stored message


def test_only_my_pending_uploads_to_this_room_can_be_sent(guest_client, room):
    mine, theirs = guest_client(), guest_client()
    other_room = PublicRoomFactory()
    [own] = pending(mine, room.id)
    [foreign] = pending(theirs, room.id)
    [elsewhere] = pending(mine, other_room.id)
    for ids in ([foreign], [elsewhere], [own, foreign], [999_999]):
        with pytest.raises(NotFound):
            message_send(
                room_id=room.id, author=mine.user, body="x", client_id="n", attachments=ids
            )
    assert not ChatMessage.objects.exists()  # nothing half-written
    message_send(room_id=room.id, author=mine.user, body="x", client_id="ok", attachments=[own])
    with pytest.raises(NotFound):  # sent already
        message_send(room_id=room.id, author=mine.user, body="y", client_id="z", attachments=[own])
    assert ChatRoom.objects.get(pk=room.pk).last_seq == 1


def test_at_most_four_attachments(guest_client, room):
    client = guest_client()
    ids = pending(client, room.id, 5)
    with pytest.raises(BadRequest, match="at most 4"):
        message_send(room_id=room.id, author=client.user, body="", client_id="5", attachments=ids)
    for bad in ("1", [True], [ids[0], ids[0]], [-1]):
        with pytest.raises(BadRequest):
            message_send(
                room_id=room.id, author=client.user, body="x", client_id="b", attachments=bad
            )
    message, _ = message_send(
        room_id=room.id, author=client.user, body="", client_id="4", attachments=ids[:4]
    )
    assert len(message.media) == 4
    with pytest.raises(Empty):
        message_send(room_id=room.id, author=client.user, body=" ", client_id="e", attachments=[])


def test_edit_keeps_attachments_and_delete_removes_them_and_their_files(
    guest_client, room, media_root, django_capture_on_commit_callbacks
):
    client = guest_client()
    ids = pending(client, room.id, 2)
    message, _ = message_send(
        room_id=room.id, author=client.user, body="tent", client_id="c", attachments=ids
    )
    edited = message_edit(message_id=message.id, by=client.user, body="the tent")
    assert [a["id"] for a in message_data(edited)["attachments"]] == ids
    assert len(stored_files(media_root)) == 4
    with django_capture_on_commit_callbacks(execute=True):
        deleted = message_delete(message_id=message.id, by=client.user)
    assert message_data(deleted)["attachments"] == [] and deleted.media == []
    assert not Attachment.objects.exists() and stored_files(media_root) == []


def test_message_fast_path_equals_drf_with_attachments(guest_client, room):
    client = guest_client()
    message, _ = message_send(
        room_id=room.id,
        author=client.user,
        body="",
        client_id="c",
        attachments=pending(client, room.id),
    )
    generic = serializers.Serializer.to_representation(MessageSerializer(), message)
    assert encode(message_data(message)) == encode(generic)
    history = client.get(f"/api/rooms/{room.id}/messages/").json()["results"]
    assert history == [message_data(message)]


# --- purge ----------------------------------------------------------------------------------


def test_pending_uploads_expire_after_an_hour_with_their_files(
    guest_client, room, media_root, django_capture_on_commit_callbacks
):
    client = guest_client()
    old, fresh, sent = pending(client, room.id, 3)
    message_send(room_id=room.id, author=client.user, body="x", client_id="s", attachments=[sent])
    Attachment.objects.filter(pk__in=[old, sent]).update(
        created_at=timezone.now() - timedelta(minutes=61)
    )
    kept = {a.pk: a.files() for a in Attachment.objects.all()}
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_idle_rooms", stdout=out)
    assert "purged 1 pending upload(s)" in out.getvalue()
    assert set(Attachment.objects.values_list("pk", flat=True)) == {fresh, sent}
    assert stored_files(media_root) == sorted(kept[fresh] + kept[sent])
    assert attachments_purge_pending() == 0


def test_purging_a_room_deletes_its_files(
    guest_client, media_root, django_capture_on_commit_callbacks
):
    owner, borrower = guest_client(), guest_client()
    room = direct_room(listing=ListingFactory(owner=owner.user), borrower=borrower.user)
    pending(borrower, room.id)
    ChatRoom.objects.filter(pk=room.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert stored_files(media_root)
    with django_capture_on_commit_callbacks(execute=True):
        assert [r.id for r in rooms_purge_idle()] == [room.id]
    assert stored_files(media_root) == [] and not Attachment.objects.exists()
