"""The burst's row under real concurrency (PostgreSQL, threads with their own connections):
a send that commits while the delivery task decides is never retired with what the task
read — it stays due, with a task of its own."""

import threading
import time

import pytest
from django.db import connections, transaction

from messaging.services import message_send
from notifications import services
from notifications.models import RoomDue
from rooms.models import Membership
from tests.conftest import USE_POSTGRES, waiting_on_a_lock
from tests.factories import ListingFactory, UserFactory, direct_room
from tests.notifications.conftest import tasks_pending

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not USE_POSTGRES,
        reason="real write concurrency is tested on PostgreSQL (make test runs it)",
    ),
]


def test_a_send_committing_while_the_task_retires_its_burst_stays_due(settings):
    settings.CHAT = {**settings.CHAT, "PUSH_DELAY": 0.0}
    room = direct_room(listing=ListingFactory(), borrower=UserFactory())
    borrower = Membership.objects.get(room=room, role=Membership.BORROWER).user
    first, _ = message_send(room_id=room.id, author=borrower, body="first", client_id="1")
    assert RoomDue.objects.get(room=room).first_seq == first.seq

    upserted, commit = threading.Event(), threading.Event()
    late: list = []

    def slow_send() -> None:  # a send whose transaction stays open after its upsert
        try:
            with transaction.atomic():
                late.append(
                    message_send(room_id=room.id, author=borrower, body="late", client_id="2")[0]
                )
                upserted.set()
                commit.wait(20)
        finally:
            connections.close_all()

    def task() -> None:
        try:
            services.room_deliver(room_id=room.id)
        finally:
            connections.close_all()

    sender = threading.Thread(target=slow_send)
    sender.start()
    assert upserted.wait(20)
    worker = threading.Thread(target=task)
    worker.start()
    deadline = time.monotonic() + 20
    while waiting_on_a_lock() == 0:  # the task's retire waits for the send's row lock
        assert time.monotonic() < deadline, "the task never waited on the send"
        time.sleep(0.01)
    commit.set()
    sender.join(20)
    worker.join(20)
    due = RoomDue.objects.get(room=room)
    assert due.first_seq == late[0].seq  # not retired: it comes after what the task read
    assert len(tasks_pending("deliver_room")) == 2  # the first burst's, and the late one's
