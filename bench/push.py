"""Push scenario: a burst of direct messages to offline users, each with a push
subscription, then the task worker (``manage.py chat_worker``, its own process) sends them
all to a loopback push service that checks VAPID and decrypts every push.

Reports the send path's cost with the notification hook (``message_send`` timed per
message, hook on vs off, same database) and the worker's drain time for all pushes.

    python -m bench.push [--count 1000]
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, percentile, save


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()

    from tests.notifications.pushservice import PushService

    tmp = Path(tempfile.mkdtemp(prefix="bench-push-"))
    with PushService() as push:
        env = {
            "DJANGO_SETTINGS_MODULE": "chatsite.settings",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "SQLITE_PATH": str(tmp / "db.sqlite3"),
            "CHAT_PUSH_ENDPOINTS": f"{push.base_url}/push/",
            "CHAT_PUSH_DELAY": "0",
            "CHAT_TASKS_IN_PROCESS": "false",
            "CHAT_SEND_RATE": "1000000",
        }
        os.environ.update(env)
        os.environ.pop("TEST_DATABASE", None)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", "--noinput", verbosity=0)
        hooked, unhooked = send_burst(push, args.count)

        worker = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "chat_worker",
                "--worker-id",
                "bench",
                "--interval",
                "0.1",
            ],
            cwd=ROOT,
            env={**os.environ},
            stdout=(tmp / "worker.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        started = time.perf_counter()
        try:
            push.wait(lambda s: len(s.delivered()) >= args.count, timeout=600)
            drained = time.perf_counter() - started
        finally:
            worker.terminate()
            worker.wait(30)
        assert push.errors == [], push.errors[:3]
        result = {
            "target": "worker",
            "count": args.count,
            "send_ms_with_hook": {"p50": percentile(hooked, 50), "p99": percentile(hooked, 99)},
            "send_ms_without_hook": {
                "p50": percentile(unhooked, 50),
                "p99": percentile(unhooked, 99),
            },
            "worker_seconds": drained,
            "pushes_per_second": args.count / drained,
            "delivered": len(push.delivered()),
        }
    path = save("push", result)
    print(
        f"push: {args.count} pushes drained by the worker in {drained:.1f} s "
        f"({args.count / drained:.0f}/s); message_send p50/p99 with the hook "
        f"{result['send_ms_with_hook']['p50']:.2f}/{result['send_ms_with_hook']['p99']:.2f} ms, "
        f"without {result['send_ms_without_hook']['p50']:.2f}/"
        f"{result['send_ms_without_hook']['p99']:.2f} ms ({path})"
    )


def send_burst(push, count: int) -> tuple[list[float], list[float]]:
    """``count`` direct messages, each to another offline owner with one subscription, and
    as many with the notification hook off, interleaved (same database, same moment): the
    time of each ``message_send`` in ms, (with the hook, without)."""
    from accounts.services import guest_create
    from messaging import services as messaging
    from notifications.services import push_subscribe
    from rooms.models import Listing
    from rooms.services import direct_room_get_or_create

    rooms = []
    for n in range(2 * count):
        owner, borrower = guest_create(), guest_create()
        listing = Listing.objects.create(owner=owner, title=f"Item {n}")
        room, _ = direct_room_get_or_create(listing=listing, user=borrower)
        if n % 2 == 0:
            push_subscribe(user=owner, **push.browser(f"b{n}").subscription(push.base_url))
        rooms.append((room.id, borrower))
    hooks = list(messaging.message_stored_hooks)
    times: tuple[list[float], list[float]] = ([], [])
    try:
        for n, (room_id, borrower) in enumerate(rooms):
            messaging.message_stored_hooks[:] = hooks if n % 2 == 0 else []
            t0 = time.perf_counter()
            messaging.message_send(
                room_id=room_id, author=borrower, body=f"hello {n}", client_id=f"b{n}"
            )
            times[n % 2].append((time.perf_counter() - t0) * 1000)
    finally:
        messaging.message_stored_hooks[:] = hooks
    return times


if __name__ == "__main__":
    main()
