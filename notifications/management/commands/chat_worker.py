"""``manage.py chat_worker``: the task worker as its own process (production)."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection

from notifications.worker import default_worker_id, log, make_worker, run_through_outages


class Command(BaseCommand):
    help = "Run the background task worker (pushes, e-mail digests)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--worker-id",
            default=default_worker_id(),
            help="Stable and unique per worker slot: a restarted worker re-runs the tasks "
            "its previous life was running when it died (default: <hostname>-worker).",
        )
        parser.add_argument("--interval", type=float, default=0.5, help="Poll interval (s).")

    def handle(self, *args: Any, worker_id: str, interval: float, **options: Any) -> None:
        if connection.vendor == "sqlite":
            # SQLite has one write lock for the whole file: a second process writing task
            # rows makes the server's sends wait on it (bench.ack --direct --worker process:
            # ack p50 in the hundreds of ms). The embedded default runs its worker as a
            # thread of the server (CHAT_TASKS_IN_PROCESS), which shares the process's turn.
            log.warning(
                "chat_worker on SQLite: sends will wait on the database's write lock; "
                "prefer the embedded worker (CHAT_TASKS_IN_PROCESS=true) or PostgreSQL"
            )
        worker = make_worker(worker_id=worker_id, interval=interval)
        worker.configure_signals()  # SIGTERM: finish the running task, then exit
        run_through_outages(worker)
