"""Group commit (issue 16, many rooms): sends waiting for the database thread are stored
together, one transaction per group (``messaging.services.message_send_batch``), each send
answered as ``message_send`` would answer it alone."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.db import database_sync_to_async
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from chatsite.foundation.errors import NotFound
from messaging import services
from messaging.models import ChatMessage
from messaging.services import SendRequest, amessage_send, message_send, message_send_batch
from moderation.services import Muted, room_mute
from rooms.models import ChatRoom
from tests.conftest import USE_POSTGRES
from tests.factories import PublicRoomFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _stored(outcome):
    result, _ = outcome
    assert not isinstance(result, Exception), result
    return result


def test_a_group_is_one_transaction_with_a_statement_count_that_does_not_grow_with_it():
    rooms = [PublicRoomFactory() for _ in range(10)]
    author = UserFactory()
    message_send(room_id=rooms[0].id, author=author, body="warm", client_id="warm")
    sends = [SendRequest(room.id, author, f"hello {n}", f"c{n}") for n, room in enumerate(rooms)]
    with CaptureQueriesContext(connection) as queries:
        outcomes = message_send_batch(sends)
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    # The checks' read of all ten, then BEGIN, (PostgreSQL: lock the rooms in id order,)
    # one UPDATE of the ten rooms' numbers, one INSERT of the ten rows, COMMIT.
    locks = ["SELECT"] if connection.features.has_select_for_update else []
    assert statements == ["SELECT", "BEGIN", *locks, "UPDATE", "INSERT", "COMMIT"]
    assert [_stored(o)[0].seq for o in outcomes] == [2] + [1] * 9
    assert all(_stored(o)[1] for o in outcomes)
    # Each send's broadcast is handed back with it (published on commit, one per message).
    assert [len(events) for _, events in outcomes] == [1] * 10
    assert ChatMessage.objects.count() == 11


def test_seq_follows_the_order_of_the_group_in_each_room():
    a, b = PublicRoomFactory(), PublicRoomFactory()
    author = UserFactory()
    order = [a, b, a, a, b]
    outcomes = message_send_batch(
        [SendRequest(room.id, author, f"m{n}", f"c{n}") for n, room in enumerate(order)]
    )
    assert [(m.room_id, m.seq, m.body) for m, _ in map(_stored, outcomes)] == [
        (a.id, 1, "m0"), (b.id, 1, "m1"), (a.id, 2, "m2"), (a.id, 3, "m3"), (b.id, 2, "m4"),
    ]  # fmt: skip
    assert ChatRoom.objects.get(pk=a.pk).last_seq == 3
    assert ChatRoom.objects.get(pk=b.pk).last_seq == 2


def test_a_send_refused_by_its_checks_leaves_the_rest_of_the_group_in_one_transaction():
    room = PublicRoomFactory()
    muted, other = UserFactory(), UserFactory()
    room_mute(room_id=room.id, user=muted, seconds=60, by=None)
    with CaptureQueriesContext(connection) as queries:
        outcomes = message_send_batch(
            [
                SendRequest(room.id, other, "one", "1"),
                SendRequest(room.id, muted, "hush", "2"),
                SendRequest(room.id, other, "two", "3"),
            ]
        )
    assert isinstance(outcomes[1][0], Muted)
    assert [_stored(outcomes[i])[0].seq for i in (0, 2)] == [1, 2]
    commits = [q for q in queries.captured_queries if q["sql"].upper() == "COMMIT"]
    assert len(commits) == 1


def test_a_send_failing_inside_the_transaction_fails_alone_and_the_others_are_stored():
    """An attachment that cannot be claimed fails the group's transaction: nothing of it
    stays, and each send is stored again on its own."""
    room = PublicRoomFactory()
    author = UserFactory()
    outcomes = message_send_batch(
        [
            SendRequest(room.id, author, "first", "1"),
            SendRequest(room.id, author, "picture", "2", attachments=[999_999]),
            SendRequest(room.id, author, "third", "3"),
        ]
    )
    assert isinstance(outcomes[1][0], NotFound)
    assert outcomes[1][1] == []  # nothing broadcast for it
    stored = [_stored(outcomes[i])[0] for i in (0, 2)]
    assert [(m.seq, m.body) for m in stored] == [(1, "first"), (2, "third")]  # gapless
    assert [len(events) for _, events in (outcomes[0], outcomes[2])] == [1, 1]
    assert list(ChatMessage.objects.order_by("seq").values_list("body", flat=True)) == [
        "first",
        "third",
    ]
    assert ChatRoom.objects.get(pk=room.pk).last_seq == 2


def test_a_bug_in_one_send_of_a_group_does_not_take_the_others_down(monkeypatch):
    room = PublicRoomFactory()
    author = UserFactory()
    bug = RuntimeError("a hook that fails on one message")

    def hook(message, kind, mentions):
        if message.body == "bad":
            raise bug

    monkeypatch.setattr(services, "message_stored_hooks", [hook])
    outcomes = message_send_batch(
        [SendRequest(room.id, author, body, body) for body in ("good", "bad", "fine")]
    )
    assert outcomes[1][0] is bug
    assert [_stored(outcomes[i])[0].body for i in (0, 2)] == ["good", "fine"]
    assert sorted(ChatMessage.objects.values_list("body", flat=True)) == ["fine", "good"]


def test_retries_in_a_group_are_answered_with_the_stored_message():
    room = PublicRoomFactory()
    author = UserFactory()
    first, _ = message_send(room_id=room.id, author=author, body="hello", client_id="once")
    outcomes = message_send_batch(
        [
            SendRequest(room.id, author, "new", "new"),
            SendRequest(room.id, author, "hello", "once"),  # a retry of a stored send
            SendRequest(room.id, author, "twice", "twice"),
            SendRequest(room.id, author, "twice", "twice"),  # the same send twice in a group
        ]
    )
    results = [_stored(o) for o in outcomes]
    assert results[1] == (first, False)
    assert results[1][0].body == "hello"
    assert results[0][1] and results[2][1]
    assert results[3] == (results[2][0], False)
    assert [events for _, events in outcomes[1::2]] == [[], []]  # a retry publishes nothing
    assert ChatMessage.objects.filter(room=room).count() == 3
    assert sorted(ChatMessage.objects.values_list("seq", flat=True)) == [1, 2, 3]


async def test_sends_arriving_while_the_database_thread_is_busy_go_in_one_group_acked_after_it(
    monkeypatch,
):
    """The first send holds the database thread inside its transaction; the sends that
    arrive meanwhile wait, none answered, and are then stored as one group."""
    room = await database_sync_to_async(PublicRoomFactory)()
    authors = [await database_sync_to_async(UserFactory)() for _ in range(6)]
    inside, release = threading.Event(), threading.Event()
    groups: list[int] = []

    def hold(message, kind, mentions):
        if message.body == "first":
            inside.set()
            assert release.wait(10)

    real = services._amessage_send_batch

    async def counted(sends, **kwargs):
        groups.append(len(sends))
        return await real(sends, **kwargs)

    monkeypatch.setattr(services, "message_stored_hooks", [hold])
    monkeypatch.setattr(services, "_amessage_send_batch", counted)

    def send(n: int, body: str) -> asyncio.Task:
        return asyncio.ensure_future(
            amessage_send(room_id=room.id, author=authors[n], body=body, client_id=f"c{n}")
        )

    first = send(0, "first")
    assert await asyncio.to_thread(inside.wait, 10)  # its transaction is open
    later = [send(n, f"later {n}") for n in range(1, 6)]
    await asyncio.sleep(0)  # let them reach the queue
    assert not first.done() and not any(task.done() for task in later)  # none answered
    release.set()
    sent = [await first] + [await task for task in later]
    assert groups == [1, 5]
    assert [s.message.seq for s in sent] == [1, 2, 3, 4, 5, 6]
    assert all(s.created and len(s.events) == 1 for s in sent)


async def test_a_refusal_in_a_group_is_raised_to_its_own_sender_only():
    room = await database_sync_to_async(PublicRoomFactory)()
    muted, other = [await database_sync_to_async(UserFactory)() for _ in range(2)]
    await database_sync_to_async(room_mute)(room_id=room.id, user=muted, seconds=60, by=None)
    results = await asyncio.gather(
        amessage_send(room_id=room.id, author=other, body="a", client_id="a"),
        amessage_send(room_id=room.id, author=muted, body="b", client_id="b"),
        amessage_send(room_id=room.id, author=other, body="c", client_id="c"),
        return_exceptions=True,
    )
    assert isinstance(results[1], Muted)
    assert [r.message.body for r in (results[0], results[2])] == ["a", "c"]


def test_bad_sends_in_a_group_get_the_errors_they_would_get_alone():
    room = PublicRoomFactory()
    author = UserFactory()
    outcomes = message_send_batch(
        [
            SendRequest(room.id, author, "ok", "1"),
            SendRequest(room.id + 1000, author, "nowhere", "2"),
            SendRequest(room.id, author, "not an id", 5),  # type: ignore[arg-type]
            SendRequest(room.id + 1000, author, "   ", "3"),
        ]
    )
    assert [type(result).__name__ for result, _ in outcomes] == [
        "tuple", "NotFound", "BadRequest", "Empty",
    ]  # fmt: skip
    assert _stored(outcomes[0])[0].seq == 1


@pytest.mark.skipif(
    not USE_POSTGRES,
    reason="concurrent writers: TEST_DATABASE=postgresql (make test runs it)",
)
def test_concurrent_groups_over_the_same_rooms_in_opposite_orders_number_them_gaplessly(
    monkeypatch,
):
    """Two processes' groups naming the same rooms lock them in id order: no deadlock (which
    would send every group to the one-at-a-time path), gapless unique numbers."""
    rooms = [PublicRoomFactory() for _ in range(3)]
    authors = [UserFactory() for _ in range(4)]
    start = threading.Barrier(4)
    fell_back: list[int] = []

    def sender(index: int) -> list[int]:
        try:
            order = rooms if index % 2 else rooms[::-1]
            start.wait()
            seqs = []
            for n in range(5):
                outcomes = message_send_batch(
                    [SendRequest(r.id, authors[index], "x", f"{index}-{n}-{r.id}") for r in order]
                )
                seqs += [_stored(o)[0].seq for o in outcomes]
            return seqs
        finally:
            connections.close_all()

    real = services._send_store_alone

    def alone(checked, language):
        fell_back.append(1)
        return real(checked, language)

    monkeypatch.setattr(services, "_send_store_alone", alone)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(sender, range(4)))
    assert fell_back == []
    for room in rooms:
        seqs = ChatMessage.objects.filter(room=room).values_list("seq", flat=True)
        assert sorted(seqs) == list(range(1, 21))
        assert ChatRoom.objects.get(pk=room.pk).last_seq == 20
