"""Settings, push subscriptions and room mute over HTTP: every refusal leaves nothing changed."""

import base64

import pytest
from django_tasks_db.models import DBTaskResult

from accounts.services import user_claim
from notifications.models import NotificationSettings, PushSubscription
from rooms.models import Membership
from tests.factories import ListingFactory, PublicRoomFactory, UserFactory, direct_room
from tests.notifications.pushservice import Browser, b64url

pytestmark = pytest.mark.django_db

ALLOWED = "https://push.example.net/wpush/"


@pytest.fixture
def claimed(guest_client):
    client = guest_client()
    user_claim(user=client.user, username=f"u{client.user.id}", password="a-long-password-1")
    client.user.refresh_from_db()
    return client


def test_settings_default_and_patch(guest_client):
    client = guest_client()
    response = client.get("/api/me/settings/")
    assert response.status_code == 200
    assert response.json() == {
        "email": "",
        "email_verified": False,
        "notify_email": "digest",
        "notify_push": True,
        "language": None,
    }
    response = client.patch(
        "/api/me/settings/",
        {"notify_email": "off", "notify_push": False, "language": "ko"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["notify_email"] == "off"
    assert response.json()["notify_push"] is False
    assert response.json()["language"] == "ko"
    assert (
        client.patch("/api/me/settings/", {"language": None}, format="json").json()["language"]
        is None
    )


@pytest.mark.parametrize(
    "body",
    [
        {"notify_email": "hourly"},
        {"notify_push": "yes"},
        {"language": "fr"},
        {"email_address": "x@example.com"},
        {"notify_email": "off", "language": "xx"},  # one bad field: nothing changes
    ],
)
def test_bad_settings_are_400_and_change_nothing(guest_client, body):
    client = guest_client()
    response = client.patch("/api/me/settings/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert client.get("/api/me/settings/").json()["notify_email"] == "digest"


def test_a_guest_cannot_set_an_email(guest_client):
    client = guest_client()
    response = client.patch("/api/me/settings/", {"email": "a@example.com"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert client.get("/api/me/settings/").json()["email"] == ""
    assert not DBTaskResult.objects.exists()


def test_a_new_email_is_unverified_and_a_verification_is_queued(claimed):
    response = claimed.patch("/api/me/settings/", {"email": " me@example.com "}, format="json")
    assert response.status_code == 200
    assert response.json()["email"] == "me@example.com"
    assert response.json()["email_verified"] is False
    (task,) = DBTaskResult.objects.all()
    assert task.task_path.endswith("send_verification")
    bad = claimed.patch("/api/me/settings/", {"email": "not an address"}, format="json")
    assert bad.status_code == 400
    assert claimed.get("/api/me/settings/").json()["email"] == "me@example.com"


def test_push_key_is_an_uncompressed_p256_point(guest_client):
    key = guest_client().get("/api/push/key/").json()["public_key"]
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65 and raw[0] == 4


def _subscription(endpoint):
    return {**Browser("b").subscription("http://unused"), "endpoint": endpoint}


def test_subscribe_and_unsubscribe(guest_client, settings):
    settings.CHAT = {**settings.CHAT, "PUSH_ENDPOINTS": [ALLOWED]}
    client = guest_client()
    body = _subscription(ALLOWED + "abc123")
    assert client.post("/api/push/subscriptions/", body, format="json").status_code == 201
    assert client.post("/api/push/subscriptions/", body, format="json").status_code == 201
    assert PushSubscription.objects.filter(user=client.user).count() == 1
    # The same browser signed in as someone else: the subscription moves to them.
    other = guest_client()
    assert other.post("/api/push/subscriptions/", body, format="json").status_code == 201
    assert PushSubscription.objects.get().user == other.user
    response = other.delete(
        "/api/push/subscriptions/", {"endpoint": body["endpoint"]}, format="json"
    )
    assert response.status_code == 204
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://evil.example.com/wpush/x",  # another host
        "http://push.example.net/wpush/x",  # another scheme
        "https://push.example.net:8443/wpush/x",  # another port
        "https://push.example.net/other/x",  # outside the path prefix
        "https://push.example.net.evil.com/wpush/x",  # a host that merely starts the same
        "https://push.example.net@evil.com/wpush/x",  # userinfo trick
        "https://evil.com#https://push.example.net/wpush/",
        "ftp://push.example.net/wpush/x",
        "/wpush/x",
        "",
        "https://push.example.net/wpush/" + "x" * 1100,
    ],
)
def test_endpoints_outside_the_allow_list_are_400(guest_client, settings, endpoint):
    settings.CHAT = {**settings.CHAT, "PUSH_ENDPOINTS": [ALLOWED]}
    client = guest_client()
    response = client.post("/api/push/subscriptions/", _subscription(endpoint), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert not PushSubscription.objects.exists()


def _keys(**change):
    keys = _subscription(ALLOWED + "k")["keys"]
    return {**keys, **change}


@pytest.mark.parametrize(
    "keys",
    [
        _keys(p256dh="not base64url!"),
        _keys(p256dh=b64url(b"\x04" + b"\x01" * 32)),  # wrong length
        _keys(p256dh=b64url(b"\x04" + b"\x01" * 64)),  # 65 bytes, not on the curve
        _keys(p256dh=b64url(b"\x02" + b"\x01" * 64)),  # not uncompressed
        _keys(auth=b64url(b"\x01" * 8)),  # auth must be 16 bytes
        _keys(auth="a+b/c==="),  # base64, not base64url
        _keys(auth=None),
        {"p256dh": _keys()["p256dh"]},
        "keys",
    ],
)
def test_malformed_keys_are_400(guest_client, settings, keys):
    settings.CHAT = {**settings.CHAT, "PUSH_ENDPOINTS": [ALLOWED]}
    client = guest_client()
    body = {"endpoint": ALLOWED + "k", "keys": keys}
    response = client.post("/api/push/subscriptions/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert not PushSubscription.objects.exists()


def test_mute_and_unmute_a_direct_room(guest_client):
    client = guest_client()
    room = direct_room(listing=ListingFactory(), borrower=client.user)
    assert client.put(f"/api/rooms/{room.id}/mute/").status_code == 204
    assert client.get(f"/api/rooms/{room.id}/").json()["muted"] is True
    assert client.delete(f"/api/rooms/{room.id}/mute/").status_code == 204
    assert client.get(f"/api/rooms/{room.id}/").json()["muted"] is False


def test_muting_a_public_room_keeps_its_unread_count_at_zero(guest_client):
    client = guest_client()
    room = PublicRoomFactory(last_seq=40)
    assert client.put(f"/api/rooms/{room.id}/mute/").status_code == 204
    data = client.get(f"/api/rooms/{room.id}/").json()
    assert data["muted"] is True and data["unread"] == 0
    assert Membership.objects.get(room=room, user=client.user).last_read_seq == 40


def test_mute_of_someone_elses_direct_room_is_404(guest_client):
    client = guest_client()
    room = direct_room(listing=ListingFactory(), borrower=UserFactory())
    assert client.put(f"/api/rooms/{room.id}/mute/").status_code == 404
    assert not Membership.objects.filter(room=room, muted=True).exists()


def test_settings_row_is_made_on_first_read(guest_client):
    client = guest_client()
    client.get("/api/me/settings/")
    assert NotificationSettings.objects.filter(user=client.user).exists()
