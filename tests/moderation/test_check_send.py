"""``check_send`` through ``message_send``: what the send path refuses, and what it stores."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chatsite.foundation.errors import ChatError
from messaging.models import ChatMessage
from messaging.services import message_edit, message_send
from moderation.models import Block, ContentRule
from moderation.services import (
    content_rule_save,
    room_kick,
    room_mute,
    room_slow_mode_set,
    room_unmute,
)
from tests.factories import ListingFactory, PublicRoomFactory, UserFactory, direct_room

pytestmark = pytest.mark.django_db


def old_guest(**fields):
    return UserFactory(date_joined=timezone.now() - timedelta(days=2), **fields)


def send(room, author, body, client_id=None):
    message, _ = message_send(
        room_id=room.id, author=author, body=body, client_id=client_id or f"c-{body}"[:60]
    )
    return message


def refused(room, author, body, client_id="x"):
    with pytest.raises(ChatError) as error:
        message_send(room_id=room.id, author=author, body=body, client_id=client_id)
    assert not ChatMessage.objects.filter(client_id=client_id, author=author).exists()
    return error.value


def test_a_muted_user_is_refused_with_the_seconds_left_until_unmuted():
    room, user = PublicRoomFactory(), old_guest()
    room_mute(room_id=room.id, user=user, seconds=600, by=None)
    error = refused(room, user, "hello")
    assert error.code == "muted" and 595 <= error.retry_after <= 600
    assert send(PublicRoomFactory(), user, "elsewhere is fine").body == "elsewhere is fine"
    room_unmute(room_id=room.id, user=user)
    assert send(room, user, "back").body == "back"


def test_a_kick_mutes_for_ten_minutes():
    room, user = PublicRoomFactory(), old_guest()
    room_kick(room_id=room.id, user=user, by=None)
    error = refused(room, user, "let me in")
    assert error.code == "muted" and 590 <= error.retry_after <= 600


def test_slow_mode_allows_one_send_per_interval_and_exempts_staff():
    room, user, staff = PublicRoomFactory(), old_guest(), old_guest(is_staff=True)
    room_slow_mode_set(room_id=room.id, seconds=30)
    send(room, user, "first")
    error = refused(room, user, "second")
    assert error.code == "slow_mode" and 28 <= error.retry_after <= 30
    send(room, staff, "staff one")
    send(room, staff, "staff two")


def test_a_retry_of_a_stored_send_is_answered_with_it_even_in_slow_mode():
    room, user = PublicRoomFactory(), old_guest()
    room_slow_mode_set(room_id=room.id, seconds=30)
    first, created = message_send(room_id=room.id, author=user, body="once", client_id="r-1")
    again, created_again = message_send(room_id=room.id, author=user, body="once", client_id="r-1")
    assert created and not created_again and again.id == first.id


def test_either_side_of_a_block_cannot_send_in_their_direct_room_but_public_rooms_are_open():
    owner, borrower = old_guest(), old_guest()
    room = direct_room(listing=ListingFactory(owner=owner), borrower=borrower)
    send(room, borrower, "is it free?")
    Block.objects.create(blocker=owner, blocked=borrower)
    assert refused(room, borrower, "hello?", "b2").code == "blocked"
    assert refused(room, owner, "bye", "o2").code == "blocked"
    public = PublicRoomFactory()
    send(public, borrower, "still here")


def test_a_masking_rule_changes_the_stored_body_and_a_refusing_one_stores_nothing():
    room, user = PublicRoomFactory(), old_guest()
    content_rule_save(rule=ContentRule(kind="word", pattern="darn", action="mask"))
    content_rule_save(rule=ContentRule(kind="word", pattern="scam", action="refuse"))
    assert send(room, user, "darn it").body == "**** it"
    assert refused(room, user, "a scam").code == "filtered"


def test_an_edit_passes_the_content_rules_too():
    room, user = PublicRoomFactory(), old_guest()
    message = send(room, user, "fine text")
    content_rule_save(rule=ContentRule(kind="word", pattern="scam", action="refuse"))
    with pytest.raises(ChatError) as error:
        message_edit(message_id=message.id, by=user, body="now a scam")
    assert error.value.code == "filtered"
    message.refresh_from_db()
    assert message.body == "fine text"


def test_new_guests_cannot_post_links_in_public_rooms_until_the_delay_passed(settings):
    settings.CHAT = {**settings.CHAT, "NEW_GUEST_LINK_DELAY": 600}
    room = PublicRoomFactory()
    newcomer = UserFactory(is_guest=True, date_joined=timezone.now() - timedelta(minutes=5))
    error = refused(room, newcomer, "see https://example.com")
    assert error.code == "filtered" and "new guests" in error.detail.lower()
    assert send(room, newcomer, "no links here").body == "no links here"
    claimed = UserFactory(is_guest=False, date_joined=timezone.now())
    assert send(room, claimed, "see https://example.com").body == "see https://example.com"
    older = old_guest()
    assert send(room, older, "see example.com/x").body == "see example.com/x"
    owner = old_guest()
    direct = direct_room(listing=ListingFactory(owner=owner), borrower=newcomer)
    assert send(direct, newcomer, "photo at https://example.com").body.endswith("example.com")


def test_contacts_are_masked_in_direct_rooms_when_turned_on(settings):
    owner, borrower = old_guest(), old_guest()
    room = direct_room(listing=ListingFactory(owner=owner), borrower=borrower)
    assert send(room, borrower, "me@example.com").body == "me@example.com"
    settings.CHAT = {**settings.CHAT, "MASK_CONTACTS": True}
    assert send(room, borrower, "mail x@example.com").body == "mail " + "*" * 13
    assert send(PublicRoomFactory(), borrower, "y@example.com").body == "y@example.com"
