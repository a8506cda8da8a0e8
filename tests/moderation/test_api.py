"""Reports, blocks and staff's room tools over HTTP; community auto-hide; admin actions."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import tokens_for_user
from messaging.models import ChatMessage
from messaging.services import message_send
from moderation.actions import report_act
from moderation.models import AutoHide, Block, Report, RoomMute
from tests.factories import ListingFactory, PublicRoomFactory, UserFactory, direct_room

pytestmark = pytest.mark.django_db


def client_of(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user=user)['access']}")
    return client


def old_user(**fields):
    return UserFactory(date_joined=timezone.now() - timedelta(days=1), **fields)


def posted(room, author, body="bad words"):
    message, _ = message_send(room_id=room.id, author=author, body=body, client_id=body[:60])
    return message


# --- reports ------------------------------------------------------------------------------


def test_a_report_is_made_once_per_reporter_and_target():
    room, author, reporter = PublicRoomFactory(), old_user(), old_user()
    message = posted(room, author)
    api = client_of(reporter)
    first = api.post("/api/reports/", {"message": message.id, "reason": "spam"}, format="json")
    assert first.status_code == 201 and first.json()["status"] == "open"
    again = api.post("/api/reports/", {"message": message.id, "reason": "scam"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    report = Report.objects.get()
    assert (report.target_id, report.room_id, report.reason) == (author.id, room.id, "spam")


def test_a_user_can_be_reported_with_or_without_a_room():
    reporter, target, room = old_user(), old_user(), PublicRoomFactory()
    api = client_of(reporter)
    response = api.post(
        "/api/reports/",
        {"user": target.id, "room": room.id, "reason": "harassment", "note": "keeps at it"},
        format="json",
    )
    assert response.status_code == 201
    assert api.post("/api/reports/", {"user": target.id, "reason": "other"}).status_code == 201
    assert Report.objects.filter(target=target).count() == 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"message": 999_999, "reason": "spam"}, 404, "not_found"),
        ({"user": 999_999, "reason": "spam"}, 404, "not_found"),
        ({"message": "MSG", "reason": "rude"}, 400, "bad_request"),
        ({"reason": "spam"}, 400, "bad_request"),
        ({"user": "USER", "reason": "spam", "note": "x" * 501}, 400, "bad_request"),
    ],
)
def test_bad_reports_are_refused_and_nothing_is_written(body, status, code):
    room, author = PublicRoomFactory(), old_user()
    message = posted(room, author)
    target = old_user()
    body = {
        k: (message.id if v == "MSG" else target.id if v == "USER" else v) for k, v in body.items()
    }
    response = client_of(old_user()).post("/api/reports/", body, format="json")
    assert response.status_code == status and response.json()["code"] == code
    assert not Report.objects.exists()


def test_a_message_the_reporter_cannot_read_is_not_found():
    owner, borrower = old_user(), old_user()
    room = direct_room(listing=ListingFactory(owner=owner), borrower=borrower)
    message = posted(room, borrower, "private")
    response = client_of(old_user()).post(
        "/api/reports/", {"message": message.id, "reason": "spam"}, format="json"
    )
    assert response.status_code == 404
    assert not Report.objects.exists()


def test_enough_old_distinct_reporters_hide_a_public_message_pending_review(settings):
    settings.CHAT = {**settings.CHAT, "REPORT_AUTOHIDE": 3, "REPORT_MIN_AGE": 3600}
    room, author = PublicRoomFactory(), old_user()
    message = posted(room, author, "buy my stuff")
    rev = message.rev
    young = UserFactory(date_joined=timezone.now())
    for reporter in (old_user(), old_user(), young):
        client_of(reporter).post("/api/reports/", {"message": message.id, "reason": "spam"})
    message.refresh_from_db()
    assert message.deleted_at is None  # the young identity does not count
    client_of(old_user()).post("/api/reports/", {"message": message.id, "reason": "scam"})
    message.refresh_from_db()
    assert message.deleted_at is not None and message.rev > rev
    assert message.body == "buy my stuff"  # kept for review
    history = client_of(old_user()).get(f"/api/rooms/{room.id}/messages/").json()["results"]
    assert history[-1]["deleted"] is True and history[-1]["body"] == ""
    hidden_rev = message.rev

    staff = old_user(is_staff=True)
    report_act(report=Report.objects.first(), action="dismiss", by=staff)
    message.refresh_from_db()
    assert message.deleted_at is None and message.rev > hidden_rev
    assert AutoHide.objects.get().restored is True
    assert set(Report.objects.values_list("status", "action", "resolved_by")) == {
        ("resolved", "dismiss", staff.id)
    }


def test_direct_messages_are_never_auto_hidden(settings):
    settings.CHAT = {**settings.CHAT, "REPORT_AUTOHIDE": 1, "REPORT_MIN_AGE": 0}
    owner, borrower = old_user(), old_user()
    room = direct_room(listing=ListingFactory(owner=owner), borrower=borrower)
    message = posted(room, borrower, "rude")
    client_of(owner).post("/api/reports/", {"message": message.id, "reason": "harassment"})
    message.refresh_from_db()
    assert message.deleted_at is None


def test_staff_actions_on_a_report_take_effect_and_are_recorded():
    room, author, staff = PublicRoomFactory(), old_user(), old_user(is_staff=True)
    message = posted(room, author)
    client_of(old_user()).post("/api/reports/", {"message": message.id, "reason": "spam"})
    report = Report.objects.get()
    report_act(report=report, action="mute_1h", by=staff)
    mute = RoomMute.objects.get()
    assert (mute.user_id, mute.room_id, mute.by_id) == (author.id, room.id, staff.id)
    assert 3590 <= (mute.until - timezone.now()).total_seconds() <= 3600
    report.refresh_from_db()
    assert (report.status, report.action, report.resolved_by_id) == (
        "resolved",
        "mute_1h",
        staff.id,
    )
    assert report.resolved_at is not None
    report_act(report=report, action="remove", by=staff)
    message.refresh_from_db()
    assert message.deleted_at is not None and message.body == ""
    report_act(report=report, action="ban", by=staff)
    author.refresh_from_db()
    assert author.is_active is False


# --- blocks -------------------------------------------------------------------------------


def test_blocks_are_listed_added_and_removed():
    me, other = old_user(), old_user()
    api = client_of(me)
    assert api.get("/api/blocks/").json() == []
    added = api.post("/api/blocks/", {"user": other.id}, format="json")
    assert added.status_code == 201 and added.json()["id"] == other.id
    assert api.post("/api/blocks/", {"user": other.id}, format="json").status_code == 201
    assert [u["id"] for u in api.get("/api/blocks/").json()] == [other.id]
    assert api.delete(f"/api/blocks/{other.id}/").status_code == 204
    assert api.get("/api/blocks/").json() == []
    assert api.post("/api/blocks/", {"user": 999_999}, format="json").status_code == 404
    assert api.delete("/api/blocks/999999/").status_code == 404
    assert api.post("/api/blocks/", {"user": me.id}, format="json").status_code == 400
    assert not Block.objects.exists()


def test_a_blocked_user_cannot_start_a_direct_room_but_an_existing_one_shows_blocked():
    owner, asker, earlier = old_user(), old_user(), old_user()
    listing = ListingFactory(owner=owner)
    existing = direct_room(listing=listing, borrower=earlier)
    client_of(owner).post("/api/blocks/", {"user": asker.id}, format="json")
    client_of(owner).post("/api/blocks/", {"user": earlier.id}, format="json")
    refused = client_of(asker).post(f"/api/listings/{listing.id}/chat/")
    assert refused.status_code == 403 and refused.json()["code"] == "blocked"
    opened = client_of(earlier).post(f"/api/listings/{listing.id}/chat/")
    assert opened.status_code == 200 and opened.json()["id"] == existing.id
    assert opened.json()["blocked"] is True
    room = client_of(owner).get(f"/api/rooms/{existing.id}/").json()
    assert room["blocked"] is True and room["slow_mode"] == 0
    client_of(owner).delete(f"/api/blocks/{earlier.id}/")
    assert client_of(earlier).get(f"/api/rooms/{existing.id}/").json()["blocked"] is False


# --- staff's room tools -------------------------------------------------------------------


def test_only_staff_may_mute_kick_or_set_slow_mode():
    room, target = PublicRoomFactory(), old_user()
    nobody = client_of(old_user())
    assert (
        nobody.post(
            f"/api/rooms/{room.id}/mutes/", {"user": target.id, "seconds": 60}, format="json"
        ).status_code
        == 404
    )
    assert (
        nobody.put(f"/api/rooms/{room.id}/slow_mode/", {"seconds": 5}, format="json").status_code
        == 404
    )
    assert not RoomMute.objects.exists()

    staff = client_of(old_user(is_staff=True))
    muted = staff.post(
        f"/api/rooms/{room.id}/mutes/", {"user": target.id, "seconds": 60}, format="json"
    )
    assert muted.status_code == 201 and muted.json()["user"] == target.id
    assert staff.delete(f"/api/rooms/{room.id}/mutes/{target.id}/").status_code == 204
    assert not RoomMute.objects.filter(until__gt=timezone.now()).exists()
    assert (
        staff.post(f"/api/rooms/{room.id}/kick/", {"user": target.id}, format="json").status_code
        == 204
    )
    slow = staff.put(f"/api/rooms/{room.id}/slow_mode/", {"seconds": 5}, format="json")
    assert slow.status_code == 200 and slow.json()["slow_mode"] == 5
    bad = staff.put(f"/api/rooms/{room.id}/slow_mode/", {"seconds": -1}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "bad_request"
    assert (
        staff.post(
            f"/api/rooms/{room.id}/mutes/", {"user": 999_999, "seconds": 60}, format="json"
        ).status_code
        == 404
    )


def test_the_report_queue_shows_context_and_reporter_count(admin_client):
    room, author = PublicRoomFactory(), old_user()
    for n in range(12):
        posted(room, author, f"line {n}")
    target = ChatMessage.objects.get(body="line 6")
    for _ in range(2):
        client_of(old_user()).post("/api/reports/", {"message": target.id, "reason": "spam"})
    report = Report.objects.first()
    page = admin_client.get(f"/admin/moderation/report/{report.id}/change/").content.decode()
    for n in range(1, 12):
        assert (f"line {n}<" in page) == (1 <= n <= 11)
    assert "line 0<" not in page
    listing = admin_client.get("/admin/moderation/report/?status__exact=open").content.decode()
    assert '<td class="field-reporters">2</td>' in listing


def test_admin_report_actions_take_effect_and_are_recorded(admin_client, admin_user):
    room, author = PublicRoomFactory(), old_user()
    message = posted(room, author)
    client_of(old_user()).post("/api/reports/", {"message": message.id, "reason": "spam"})
    report = Report.objects.get()
    response = admin_client.post(
        "/admin/moderation/report/",
        {"action": "kick", "_selected_action": [report.id]},
    )
    assert response.status_code == 302
    mute = RoomMute.objects.get()
    assert (mute.user_id, mute.room_id, mute.by_id, mute.reason) == (
        author.id,
        room.id,
        admin_user.id,
        "kick",
    )
    report.refresh_from_db()
    assert (report.status, report.action, report.resolved_by_id) == (
        "resolved",
        "kick",
        admin_user.id,
    )


def test_admin_slow_mode_action_sets_the_room(admin_client):
    room = PublicRoomFactory()
    admin_client.post(
        "/admin/rooms/chatroom/", {"action": "slow_mode_30", "_selected_action": [room.id]}
    )
    room.refresh_from_db()
    assert room.slow_mode == 30
