"""The push rule end to end in this process: a real loopback push service checks VAPID and
decrypts each push; tasks run as the worker runs them (conftest.run_due_tasks)."""

import itertools

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from messaging import ephemeral
from messaging.models import ChatMessage
from messaging.services import message_send
from notifications import rules, services
from notifications.models import (
    Notice,
    NotificationSettings,
    PushDelivery,
    PushSubscription,
    RoomDue,
)
from rooms.models import Membership
from tests.factories import ListingFactory, PublicRoomFactory, UserFactory, direct_room
from tests.notifications.conftest import run_due_tasks, tasks_pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    """A direct room: the owner (who will be pushed to) and the borrower (who writes)."""
    listing = ListingFactory(title="Camping tent")
    borrower = UserFactory()
    room = direct_room(listing=listing, borrower=borrower)
    return room, listing.owner, borrower


def subscribe(push_service, user, name):
    browser = push_service.browser(name)
    services.push_subscribe(user=user, **browser.subscription(push_service.base_url))
    return browser


CLIENT_IDS = itertools.count()


def send(room, author, body):
    client_id = f"c{next(CLIENT_IDS)}"
    message, _ = message_send(room_id=room.id, author=author, body=body, client_id=client_id)
    return message


def test_a_direct_message_is_pushed_to_each_browser_of_an_absent_member(push_service, pair):
    room, owner, borrower = pair
    subscribe(push_service, owner, "laptop")
    subscribe(push_service, owner, "phone")
    subscribe(push_service, borrower, "borrower")  # the author is never pushed to
    message = send(room, borrower, "Is the tent still free this weekend? " * 5)
    assert len(tasks_pending("deliver_room")) == 1
    run_due_tasks()
    assert push_service.errors == []
    got = {r.name: r for r in push_service.delivered()}
    assert set(got) == {"laptop", "phone"}
    payload = got["laptop"].payload
    assert payload == {
        "type": "message",
        "room": room.id,
        "url": f"{services._site()}/rooms/{room.id}/?message={message.id}",
        "title": f"{borrower.display_name} · Camping tent",
        "body": payload["body"],
        "lang": "en",  # the recipient chose no language (issue 15: the payload's language)
    }
    assert len(payload["body"]) == 120 and payload["body"].endswith("…")
    assert got["laptop"].headers["topic"] == f"r{room.id}"  # a newer push replaces it
    assert PushDelivery.objects.filter(state=PushDelivery.SENT).count() == 2
    # Run again (a re-run after a crash): nothing is sent twice.
    services.room_deliver(room_id=room.id)
    assert len(push_service.delivered()) == 2


def test_no_push_when_read_meanwhile(push_service, pair):
    room, owner, borrower = pair
    subscribe(push_service, owner, "laptop")
    message = send(room, borrower, "hello")
    Membership.objects.filter(room=room, user=owner).update(last_read_seq=message.seq)
    run_due_tasks()
    assert push_service.received == []


def test_no_push_to_a_user_joined_to_the_room(push_service, pair):
    room, owner, borrower = pair
    subscribe(push_service, owner, "laptop")
    send(room, borrower, "hello")
    user = {
        "id": owner.id,
        "nickname": owner.nickname,
        "tag": owner.tag,
        "display_name": owner.display_name,
        "is_guest": True,
    }
    async_to_sync(ephemeral.get_store().presence_add)(room.id, user)
    run_due_tasks()
    assert push_service.received == []


def test_no_push_from_a_muted_room_or_with_push_off(push_service, pair):
    room, owner, borrower = pair
    subscribe(push_service, owner, "laptop")
    Membership.objects.filter(room=room, user=owner).update(muted=True)
    send(room, borrower, "hello")
    run_due_tasks()
    Membership.objects.filter(room=room, user=owner).update(muted=False)
    services.settings_update(user=owner, notify_push=False)
    send(room, borrower, "again")
    run_due_tasks()
    assert push_service.received == []


def test_a_public_message_is_pushed_only_to_whom_it_mentions(push_service):
    room = PublicRoomFactory()
    author, mentioned, bystander = UserFactory(), UserFactory(), UserFactory()
    subscribe(push_service, mentioned, "mentioned")
    subscribe(push_service, bystander, "bystander")
    send(room, author, "hi all")
    assert tasks_pending("deliver_room") == []  # no mention, nothing queued
    send(room, author, f"hi @{mentioned.display_name}")
    assert len(tasks_pending("deliver_room")) == 1
    run_due_tasks()
    assert [r.name for r in push_service.delivered()] == ["mentioned"]


@pytest.mark.parametrize("gone", [410, 404])
def test_410_or_404_deletes_the_subscription(push_service, pair, gone):
    room, owner, borrower = pair
    subscribe(push_service, owner, "old")
    subscribe(push_service, owner, "new")
    push_service.gone_status = gone
    push_service.gone_once.add("old")
    send(room, borrower, "hello")
    run_due_tasks()
    assert [r.name for r in push_service.delivered()] == ["new"]
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [
        f"{push_service.base_url}/push/new"
    ]


def test_failures_are_retried_with_backoff_then_given_up(push_service, pair, settings):
    room, owner, borrower = pair
    settings.CHAT = {**settings.CHAT, "PUSH_RETRIES": 3}
    subscribe(push_service, owner, "flaky")
    push_service.fail["flaky"] = 1
    send(room, borrower, "hello")
    run_due_tasks()
    (retry,) = tasks_pending("push_retry")
    wait = (retry.run_after - timezone.now()).total_seconds()
    assert 3 < wait <= 5  # the first backoff
    type(retry).objects.filter(pk=retry.pk).update(run_after=timezone.now())
    run_due_tasks()
    assert [r.answered for r in push_service.received] == [500, 201]
    assert PushDelivery.objects.get().state == PushDelivery.SENT

    push_service.fail["flaky"] = 10
    send(room, borrower, "again")
    for _ in range(5):
        run_due_tasks()
        type(retry).objects.filter(status="READY").update(run_after=timezone.now())
    assert [r.answered for r in push_service.received][2:] == [500, 500, 500]
    assert PushDelivery.objects.filter(state=PushDelivery.FAILED).count() == 1


def test_a_push_service_down_is_retried(settings, pair):
    room, owner, borrower = pair
    from tests.notifications.pushservice import Browser

    settings.CHAT = {**settings.CHAT, "PUSH_ENDPOINTS": ["http://127.0.0.1:9/"], "PUSH_DELAY": 0.0}
    browser = Browser("x")
    services.push_subscribe(user=owner, **browser.subscription("http://127.0.0.1:9"))
    send(room, borrower, "hello")
    run_due_tasks()
    assert len(tasks_pending("push_retry")) == 1
    assert PushDelivery.objects.get().attempts == 1


def test_the_send_path_enqueues_in_its_own_transaction(pair):
    """A direct message and its delayed notification commit together."""
    room, _, borrower = pair
    send(room, borrower, "hello")
    (task,) = tasks_pending("deliver_room")
    assert task.run_after > timezone.now()  # CHAT_PUSH_DELAY


def test_the_worker_sees_presence_of_every_process_through_redis(redis_server, settings):
    """With Redis, a worker process asks the shared presence (not its own memory)."""
    settings.CHAT = {**settings.CHAT, "REDIS_URL": redis_server.url}
    user = {"id": 41, "nickname": "A", "tag": "0001", "display_name": "A#0001", "is_guest": True}

    async def join() -> None:
        store = ephemeral.get_store()
        await store.presence_add(7, user)
        await store.aclose()

    async_to_sync(join)()
    assert ephemeral.users_present(7) == {41}
    assert ephemeral.reset_local() is None and ephemeral.users_present(7) == {41}
    assert ephemeral.users_present(8) == set()


def test_a_mention_in_a_public_room_is_pushed_unless_the_author_is_blocked(push_service):
    """The send path hands its mentions to the push rule; blocks silence it (issue 11)."""
    from moderation.services import block_create

    room = PublicRoomFactory()
    author, fan, blocker = UserFactory(), UserFactory(), UserFactory()
    subscribe(push_service, fan, "fan")
    subscribe(push_service, blocker, "blocker")
    block_create(blocker=blocker, blocked_id=author.id)
    send(room, author, f"hi @{fan.display_name} and @{blocker.display_name}")
    run_due_tasks()
    assert [r.name for r in push_service.delivered()] == ["fan"]


def test_a_burst_to_an_absent_member_is_one_task_and_one_push_per_browser(
    push_service, pair, smtp, settings
):
    """Issue 12: a burst of messages to someone offline is one task (not one per message)
    and one push per browser, of the newest message; the digest still owes every one."""
    room, owner, borrower = pair
    owner.is_guest = False
    owner.save(update_fields=["is_guest"])
    services.settings_update(user=owner, email="owner@example.com")
    NotificationSettings.objects.filter(user=owner).update(email_verified_at=timezone.now())
    subscribe(push_service, owner, "laptop")
    subscribe(push_service, owner, "phone")
    messages = [send(room, borrower, f"message {n}") for n in range(5)]
    assert len(tasks_pending("deliver_room")) == 1
    run_due_tasks()
    assert sorted((r.name, r.payload["body"]) for r in push_service.delivered()) == [
        ("laptop", "message 4"),
        ("phone", "message 4"),
    ]
    assert push_service.delivered("laptop")[0].payload["url"].endswith(f"={messages[-1].id}")
    owed = Notice.objects.filter(user=owner).values_list("message_id", flat=True)
    assert sorted(owed) == [m.id for m in messages]  # the digest lists all five
    assert not RoomDue.objects.exists()
    # The next burst starts a task of its own.
    send(room, borrower, "and another")
    assert len(tasks_pending("deliver_room")) == 1
    run_due_tasks()
    assert len(push_service.delivered("laptop")) == 2


def test_a_message_stored_while_the_task_decides_gets_a_task_of_its_own(
    push_service, pair, monkeypatch
):
    """A send that commits after the task read the room's messages (it upserted the due row
    meanwhile) is not retired with them: the row stays, from after what was read, with a
    task of its own — nothing is lost."""
    room, owner, borrower = pair
    subscribe(push_service, owner, "laptop")
    send(room, borrower, "first")
    decide = rules.recipients_of
    late: list[ChatMessage] = []

    def recipients_then_a_send(**kwargs):
        owed = decide(**kwargs)
        if not late:  # as if it committed between the task's read and its retire
            late.append(send(room, borrower, "late"))
        return owed

    monkeypatch.setattr(rules, "recipients_of", recipients_then_a_send)
    (task,) = tasks_pending("deliver_room")
    services.room_deliver(room_id=room.id)  # the task, as the worker runs it
    task.delete()
    assert [r.payload["body"] for r in push_service.delivered()] == ["first"]
    due = RoomDue.objects.get(room=room)
    assert due.first_seq == late[0].seq
    assert len(tasks_pending("deliver_room")) == 1
    run_due_tasks()
    assert [r.payload["body"] for r in push_service.delivered()] == ["first", "late"]
    assert not RoomDue.objects.exists()


def test_owing_a_push_costs_the_send_one_statement(pair):
    """The send path's share of notifications: the upsert of the room's due row, plus the
    task's row when a burst starts — both in the send's transaction."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from messaging import services as messaging

    room, _, borrower = pair
    send(room, borrower, "warm up")  # starts a burst
    counts = []
    for hooks in (list(messaging.message_stored_hooks), []):
        monkeypatch_hooks = messaging.message_stored_hooks[:]
        messaging.message_stored_hooks[:] = hooks
        try:
            with CaptureQueriesContext(connection) as queries:
                send(room, borrower, "within the burst")
        finally:
            messaging.message_stored_hooks[:] = monkeypatch_hooks
        counts.append(len(queries))
    assert counts[0] == counts[1] + 1
