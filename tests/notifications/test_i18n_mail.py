"""E-mails and pushes in the recipient's settings language (issues 12 and 15)."""

import pytest
from django.utils import timezone

from messaging.services import message_send
from notifications.models import NotificationSettings
from rooms.models import Membership
from tests.factories import ListingFactory, UserFactory, direct_room
from tests.notifications.conftest import run_due_tasks
from tests.notifications.mailserver import parts

pytestmark = pytest.mark.django_db


def test_the_digest_is_in_korean_for_a_user_who_chose_korean(smtp, settings):
    settings.CHAT = {**settings.CHAT, "EMAIL_DELAY": 0.0}
    owner = UserFactory(is_guest=False)
    NotificationSettings.objects.create(
        user=owner, email="ko@example.com", email_verified_at=timezone.now(), language="ko"
    )
    room = direct_room(listing=ListingFactory(owner=owner, title="텐트"), borrower=UserFactory())
    borrower = Membership.objects.get(room=room, role=Membership.BORROWER).user
    message_send(room_id=room.id, author=borrower, body="Is it free?", client_id="1")
    message_send(room_id=room.id, author=borrower, body="주말에 빌릴 수 있나요?", client_id="2")
    run_due_tasks()
    (mail,) = smtp.wait(1)
    assert str(mail["Subject"]).strip() == "Realtime Chat에 읽지 않은 메시지 2개"
    plain, html = parts(mail)
    assert plain.startswith("Realtime Chat에 읽지 않은 메시지가 2개 있습니다.")
    assert f"{borrower.display_name}님의 메시지 2개" in plain
    assert "이메일 그만 받기:" in plain and "설정:" in plain
    assert '<html lang="ko">' in html and "대화 열기" in html
    assert "주말에 빌릴 수 있나요?" in plain  # the message itself as written


def test_the_verification_mail_is_in_the_users_language(smtp, guest_client):
    from accounts.services import user_claim

    client = guest_client()
    user_claim(user=client.user, username="hangul", password="a-long-password-1")
    client.patch("/api/me/settings/", {"language": "ko"}, format="json")
    client.patch("/api/me/settings/", {"email": "hangul@example.com"}, format="json")
    run_due_tasks()
    (mail,) = smtp.wait(1)
    assert str(mail["Subject"]).strip() == "Realtime Chat 이메일 주소를 확인해 주세요"
    plain, html = parts(mail)
    assert "24시간 동안 유효" in plain and "이메일 주소 확인" in html


def test_a_push_names_its_language_and_words_its_photos_in_it():
    import orjson

    from notifications.services import push_payload
    from tests.factories import messages

    owner, borrower = UserFactory(), UserFactory()
    room = direct_room(listing=ListingFactory(owner=owner, title="텐트"), borrower=borrower)
    (message,) = messages(room=room, author=borrower, count=1)
    message.body, message.media = "", [{"id": 1}, {"id": 2}]
    korean = orjson.loads(push_payload(message, language="ko"))
    assert korean["lang"] == "ko" and korean["body"] == "사진 2장을 보냈습니다"
    english = orjson.loads(push_payload(message))
    assert english["lang"] == "en" and english["body"] == "Sent 2 photos"
