"""``manage.py purge_idle_rooms``: delete idle direct rooms, and uploads no send named
within an hour (with their files), once or on a schedule."""

import signal
import threading

from django.core.management.base import BaseCommand, CommandParser

from messaging.attachments import attachments_purge_pending
from messaging.purge import rooms_purge_idle


class Command(BaseCommand):
    help = (
        "Delete direct rooms with no message for --idle-days, and direct rooms that never got "
        "a message within 24 hours. Public rooms are never purged. Also deletes uploaded "
        "images no message named within an hour."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--idle-days", type=int, default=30)
        parser.add_argument("--dry-run", action="store_true", help="list, delete nothing")
        parser.add_argument(
            "--every", type=float, default=0, metavar="SECONDS", help="keep running on a schedule"
        )

    def handle(
        self, *args: object, idle_days: int, dry_run: bool, every: float, **options: object
    ) -> None:
        stop = threading.Event()
        if every:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        while True:
            rooms = rooms_purge_idle(idle_days=idle_days, dry_run=dry_run)
            verb = "would purge" if dry_run else "purged"
            for room in rooms:
                self.stdout.write(f"{verb} room {room.id} ({room.name})")
            self.stdout.write(f"{verb} {len(rooms)} room(s)")
            if not dry_run:
                self.stdout.write(f"purged {attachments_purge_pending()} pending upload(s)")
            if not every or stop.wait(every):
                return
