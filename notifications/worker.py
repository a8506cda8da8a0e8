"""Running django-tasks-db's worker: as ``manage.py chat_worker`` (production, its own
process) or as a thread of the server process (the embedded default).

django-tasks-db leaves a task whose worker died mid-run marked RUNNING for ever. Each of
our workers has a stable id (``--worker-id``, one per worker slot), so a worker starting
puts back to READY the tasks its previous life was running: they run again, and being
idempotent they send only what is still pending.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time

from django.db import DatabaseError, InterfaceError, OperationalError, connections, transaction
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

log = logging.getLogger(__name__)


def default_worker_id() -> str:
    return f"{socket.gethostname()}-worker"[:64]


def recover_interrupted(*, worker_id: str) -> int:
    """Put back the tasks this worker id was running when it died; how many."""
    with transaction.atomic():
        ids = [
            result.pk
            for result in DBTaskResult.objects.running().only("id", "worker_ids")
            if result.worker_ids and result.worker_ids[-1] == worker_id
        ]
        if ids:
            DBTaskResult.objects.filter(pk__in=ids).update(status="READY", started_at=None)
    if ids:
        log.warning("worker %s: %d interrupted task(s) put back to run again", worker_id, len(ids))
    return len(ids)


OUTAGE_BACKOFF_MAX = 30.0  # seconds between tries while the database is away


def run_through_outages(worker: Worker) -> None:
    """``worker.run()``, started again after the database went away (it resumes once the
    database is back: a worker must outlive an outage, as the server does). A task a failure
    interrupted is RUNNING still; it is put back first, and being idempotent it re-sends
    only what is still pending."""
    delay = 1.0
    while True:
        started = time.monotonic()
        try:
            worker.run()
            return
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() - started > 60:
                delay = 1.0  # it had been working: a new outage
            log.warning("task worker: database unavailable (%s); again in %.0f s", exc, delay)
            connections.close_all()
            time.sleep(delay)
            delay = min(delay * 2, OUTAGE_BACKOFF_MAX)
            # Still away: the next run fails and waits again.
            with contextlib.suppress(OperationalError, InterfaceError):
                recover_interrupted(worker_id=worker.worker_id)


class SharingWorker(Worker):
    """A worker that shares its process: after each task it rests ``rest`` times as long
    as the task took, so it takes at most 1 / (1 + rest) of the process's one core (and of
    the GIL) from the sockets and requests the process serves. A burst of owed pushes then
    drains more slowly instead of stalling chat (the embedded default: the worker is a
    thread of the server). Measured (`bench.ack --direct`, 4,000 sends owing pushes): with no
    rest the ack p99 was 83 ms on SQLite and 1.2 s on PostgreSQL; with 6, 8 ms and 16 ms."""

    rest = 6.0

    def run_task(self, db_task_result: DBTaskResult) -> None:
        started = time.monotonic()
        try:
            super().run_task(db_task_result)
        finally:
            time.sleep(min((time.monotonic() - started) * self.rest, 1.0))


def make_worker(*, worker_id: str, interval: float, sharing: bool = False) -> Worker:
    recover_interrupted(worker_id=worker_id)
    return (SharingWorker if sharing else Worker)(
        queue_names=["default"],
        interval=interval,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )


_started = threading.Lock()
_thread: threading.Thread | None = None


def start_in_process(*, interval: float = 0.5) -> None:
    """The embedded default: one worker thread in this (the only) server process, which
    also holds the in-process presence the push rule asks."""
    try:
        _start_in_process(interval=interval)
    except DatabaseError as exc:  # e.g. not migrated yet: serve anyway, say why
        log.warning("background tasks not started (%s): run manage.py migrate", exc)


def _start_in_process(*, interval: float) -> None:
    global _thread
    with _started:
        if _thread is not None:
            return
        worker_id = f"{default_worker_id()}-embedded-{os.getpid()}"[:64]
        # A previous embedded run had another pid: put back what any embedded worker of
        # this host left running.
        prefix = f"{default_worker_id()}-embedded-"
        with transaction.atomic():
            stale = [
                r.pk
                for r in DBTaskResult.objects.running().only("id", "worker_ids")
                if r.worker_ids and str(r.worker_ids[-1]).startswith(prefix)
            ]
            DBTaskResult.objects.filter(pk__in=stale).update(status="READY", started_at=None)
        worker = make_worker(worker_id=worker_id, interval=interval, sharing=True)
        _thread = threading.Thread(
            target=run_through_outages, args=(worker,), name="chat-task-worker", daemon=True
        )
        _thread.start()
