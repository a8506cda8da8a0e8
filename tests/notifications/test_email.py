"""E-mail through a real SMTP server on loopback (aiosmtpd): the verification link, the
digest (plain text + HTML, a link per room, RFC 8058 one-click unsubscribe), and the
pages that forged or expired links get."""

import time
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from accounts.services import user_claim
from messaging.services import message_send
from moderation.services import block_create, block_delete
from notifications import services
from notifications.models import NotificationSettings
from rooms.models import Membership
from tests.factories import ListingFactory, PublicRoomFactory, UserFactory, direct_room
from tests.notifications.conftest import run_due_tasks, tasks_pending
from tests.notifications.mailserver import links, parts

pytestmark = pytest.mark.django_db


def path_of(url):
    parts_ = urlsplit(url)
    assert parts_.scheme + "://" + parts_.netloc == "http://testserver"
    return parts_.path


@pytest.fixture
def owner(smtp):
    """A claimed user with a verified address and digests on (the default)."""
    user = UserFactory(is_guest=False)
    NotificationSettings.objects.create(
        user=user, email="owner@example.com", email_verified_at=timezone.now()
    )
    return user


def test_verification_link_verifies_on_a_plain_get(smtp, guest_client):
    client = guest_client()
    user_claim(user=client.user, username="lender", password="a-long-password-1")
    client.patch("/api/me/settings/", {"email": "lender@example.com"}, format="json")
    run_due_tasks()
    (mail,) = smtp.wait(1)
    assert mail["To"] == "lender@example.com"
    plain, html = parts(mail)
    (link,) = [u for u in links(plain) if "/email/verify/" in u]
    assert link in html
    assert client.get("/api/me/settings/").json()["email_verified"] is False
    page = Client().get(path_of(link))  # no sign-in: the link is the authority
    assert page.status_code == 200
    assert b'data-outcome="verified"' in page.content
    assert client.get("/api/me/settings/").json()["email_verified"] is True
    # A changed address needs its own verification; the old link no longer applies.
    client.patch("/api/me/settings/", {"email": "new@example.com"}, format="json")
    assert client.get("/api/me/settings/").json()["email_verified"] is False
    stale = Client().get(path_of(link))
    assert stale.status_code == 400 and b'data-outcome="invalid"' in stale.content
    assert client.get("/api/me/settings/").json()["email_verified"] is False


class OldSigner(signing.TimestampSigner):
    def timestamp(self):
        return signing.b62_encode(int(time.time()) - 25 * 3600)


def test_forged_or_expired_verification_links_change_nothing(smtp, guest_client):
    client = guest_client()
    user_claim(user=client.user, username="lender2", password="a-long-password-1")
    client.patch("/api/me/settings/", {"email": "x@example.com"}, format="json")
    good = services.email_token(
        user_id=client.user.id, email="x@example.com", salt=services.VERIFY_SALT
    )
    expired = OldSigner(salt=services.VERIFY_SALT).sign_object(
        {"u": client.user.id, "e": "x@example.com"}, compress=True
    )
    other_salt = services.email_token(
        user_id=client.user.id, email="x@example.com", salt=services.UNSUBSCRIBE_SALT
    )
    for token in (good[:-2] + "xx", expired, other_salt, "garbage"):
        page = Client().get(f"/email/verify/{token}/")
        assert page.status_code == 400, token
        assert b'data-outcome="invalid"' in page.content
    assert b"expired" in Client().get(f"/email/verify/{expired}/").content
    assert client.get("/api/me/settings/").json()["email_verified"] is False


def test_digest_lists_unread_direct_messages_and_unsubscribes_in_one_click(smtp, owner, settings):
    settings.CHAT = {**settings.CHAT, "EMAIL_DELAY": 0.0, "EMAIL_INTERVAL": 3600.0}
    a = direct_room(
        listing=ListingFactory(owner=owner, title="Camping tent"), borrower=UserFactory()
    )
    b = direct_room(listing=ListingFactory(owner=owner, title="Kayak"), borrower=UserFactory())
    borrower_a = Membership.objects.get(room=a, role=Membership.BORROWER).user
    borrower_b = Membership.objects.get(room=b, role=Membership.BORROWER).user
    message_send(room_id=a.id, author=borrower_a, body="Is the tent free?", client_id="1")
    message_send(room_id=a.id, author=borrower_a, body="<b>Saturday</b>?", client_id="2")
    first_b, _ = message_send(room_id=b.id, author=borrower_b, body="Kayak please", client_id="3")
    run_due_tasks()
    (mail,) = smtp.wait(1)
    assert mail["To"] == "owner@example.com"
    assert mail["Subject"] == "3 unread messages on Realtime Chat"
    plain, html = parts(mail)
    assert "Camping tent" in plain and "Kayak" in plain
    assert borrower_a.display_name in plain
    assert "<b>Saturday</b>?" in plain  # plain text as typed
    assert "&lt;b&gt;Saturday&lt;/b&gt;?" in html and "<b>Saturday</b>" not in html  # escaped
    assert f"http://testserver/rooms/{a.id}/?message=" in plain
    assert f"http://testserver/rooms/{b.id}/?message={first_b.id}" in html
    # RFC 8058
    unsubscribe = "".join(str(mail["List-Unsubscribe"]).split()).strip("<>")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # More messages within the interval: no second e-mail now, one task for later.
    message_send(room_id=b.id, author=borrower_b, body="Still there?", client_id="4")
    run_due_tasks()
    assert len(smtp.messages) == 1
    (later,) = tasks_pending("send_digest")
    assert (later.run_after - timezone.now()).total_seconds() > 3500

    # A link scanner's GET only asks; the mail client's POST (no session, no CSRF) does it.
    anonymous = Client(enforce_csrf_checks=True)
    asked = anonymous.get(path_of(unsubscribe))
    assert asked.status_code == 200 and b'data-outcome="confirm"' in asked.content
    assert NotificationSettings.objects.get(user=owner).notify_email == "digest"
    done = anonymous.post(path_of(unsubscribe), {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and b'data-outcome="unsubscribed"' in done.content
    assert NotificationSettings.objects.get(user=owner).notify_email == "off"


def test_forged_unsubscribe_changes_nothing(owner):
    token = services.email_token(
        user_id=owner.id, email="owner@example.com", salt=services.UNSUBSCRIBE_SALT
    )
    for bad in (
        token[:-3] + "abc",
        "nope",
        services.email_token(
            user_id=owner.id, email="other@example.com", salt=services.UNSUBSCRIBE_SALT
        ),
    ):
        page = Client().post(f"/email/unsubscribe/{bad}/")
        assert page.status_code == 400 and b'data-outcome="invalid"' in page.content
    assert NotificationSettings.objects.get(user=owner).notify_email == "digest"


def test_no_digest_for_read_muted_blocked_unverified_or_off(smtp, owner, settings):
    settings.CHAT = {**settings.CHAT, "EMAIL_DELAY": 0.0}
    room = direct_room(listing=ListingFactory(owner=owner), borrower=UserFactory())
    borrower = Membership.objects.get(room=room, role=Membership.BORROWER).user
    message, _ = message_send(room_id=room.id, author=borrower, body="read", client_id="1")
    Membership.objects.filter(room=room, user=owner).update(last_read_seq=message.seq)
    run_due_tasks()
    Membership.objects.filter(room=room, user=owner).update(muted=True)
    message_send(room_id=room.id, author=borrower, body="muted", client_id="2")
    run_due_tasks()
    Membership.objects.filter(room=room, user=owner).update(muted=False)
    # a mention in a public room by someone the owner blocked
    block_create(blocker=owner, blocked_id=borrower.id)
    mention = f"@{owner.nickname}#{owner.tag} blocked"
    message_send(room_id=PublicRoomFactory().id, author=borrower, body=mention, client_id="b")
    run_due_tasks()
    block_delete(blocker=owner, blocked_id=borrower.id)
    NotificationSettings.objects.filter(user=owner).update(email_verified_at=None)
    message_send(room_id=room.id, author=borrower, body="unverified", client_id="3")
    run_due_tasks()
    assert smtp.messages == []


def test_messages_younger_than_the_delay_wait(smtp, owner, settings):
    settings.CHAT = {**settings.CHAT, "EMAIL_DELAY": 900.0}
    room = direct_room(listing=ListingFactory(owner=owner), borrower=UserFactory())
    borrower = Membership.objects.get(room=room, role=Membership.BORROWER).user
    message_send(room_id=room.id, author=borrower, body="soon", client_id="1")
    run_due_tasks()  # the push-delay task ran; the digest is due in 15 minutes
    assert smtp.messages == []
    (digest_task,) = tasks_pending("send_digest")
    assert 850 < (digest_task.run_after - timezone.now()).total_seconds() <= 900
    # Run it early (as a clock that jumped would): it lists nothing yet and re-schedules.
    services.digest_run(user_id=owner.id)
    assert smtp.messages == []


def test_a_digest_decided_before_a_crash_is_sent_once_by_the_rerun(smtp, owner, settings):
    """The worker died after committing the digest's record and before the SMTP send: the
    task's re-run sends that digest, once, and lists nothing twice."""
    settings.CHAT = {**settings.CHAT, "EMAIL_DELAY": 0.0}
    room = direct_room(listing=ListingFactory(owner=owner), borrower=UserFactory())
    borrower = Membership.objects.get(room=room, role=Membership.BORROWER).user
    message_send(room_id=room.id, author=borrower, body="once", client_id="1")
    services.room_deliver(room_id=room.id)
    decided = services._digest_decide(user_id=owner.id)  # committed; then the "crash"
    assert decided is not None and smtp.messages == []
    assert services.digest_run(user_id=owner.id) == 1  # the re-run
    assert services.digest_run(user_id=owner.id) == 0  # and again: nothing more
    (mail,) = smtp.wait(1)
    assert "once" in parts(mail)[0]
