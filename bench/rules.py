"""What content rules cost a send: ``message_send`` in-process with 100 rules vs none.

A fresh SQLite database (as ``make run`` configures it); 100 active rules of every kind
(60 words, 20 regular expressions, 20 link domains; refusing and masking; scopes mixed),
none of which the sent texts trip, so every rule is tried. Reported per message: the whole
``message_send`` (the transaction, the row lock, the insert), ``check_send`` (its reads:
the room, a running mute), and the rules' part alone (``apply_rules`` on the compiled
rules), in µs, medians of the repeats.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def setup_django(tmp: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    os.environ["SQLITE_PATH"] = str(tmp / "db.sqlite3")
    os.environ["CHAT_SEND_RATE"] = "100000000"
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_rules(n: int) -> None:
    from moderation.models import ContentRule
    from moderation.services import rules_changed

    kinds = ["word"] * 6 + ["regex"] * 2 + ["link_domain"] * 2
    rows = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        pattern = {
            "word": f"forbiddenword{i}",
            "regex": rf"\bbad{i}\d+thing\b",
            "link_domain": f"spam{i}.example",
        }[kind]
        rows.append(
            ContentRule(
                kind=kind,
                pattern=pattern,
                action="refuse" if i % 3 else "mask",
                scope=("public", "direct", "both")[i % 3],
            )
        )
    ContentRule.objects.bulk_create(rows)
    rules_changed()


TEXTS = [
    "hello there, is the tent still free this weekend?",
    "sure — see https://example.org/tent for photos, and www.example.com/more",
    "ok " * 60,
    "Ich hätte gern das Zelt am Samstag. 고마워요!",
]


def measure(messages: int) -> dict[str, float]:
    from accounts.services import guest_create
    from messaging.services import message_send
    from moderation import rules
    from moderation.services import check_send
    from rooms.models import ChatRoom

    room = ChatRoom.objects.create(kind=ChatRoom.PUBLIC, name=f"bench-{time.time_ns()}")
    author = guest_create()
    author.date_joined = author.date_joined.replace(year=2000)  # past the link delay
    author.save(update_fields=["date_joined"])
    compiled = rules.rules_for("public")
    for n in range(50):  # warm-up
        message_send(room_id=room.id, author=author, body=TEXTS[n % 4], client_id=f"w{n}")
    started = time.perf_counter()
    for n in range(messages):
        message_send(room_id=room.id, author=author, body=TEXTS[n % 4], client_id=f"m{n}")
    send_us = (time.perf_counter() - started) / messages * 1e6
    started = time.perf_counter()
    for n in range(messages):
        check_send(room_id=room.id, author=author, body=TEXTS[n % 4])
    check_us = (time.perf_counter() - started) / messages * 1e6
    started = time.perf_counter()
    for n in range(messages * 10):
        rules.apply_rules(compiled, TEXTS[n % 4])
    rules_us = (time.perf_counter() - started) / (messages * 10) * 1e6
    return {"send_us": send_us, "check_us": check_us, "rules_us": rules_us}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="chat-bench-rules-"))
    setup_django(tmp)
    from bench.common import save

    runs: dict[str, list[dict[str, float]]] = {"none": [], "rules": []}
    for _ in range(args.repeats):
        runs["none"].append(measure(args.messages))
    make_rules(args.rules)
    for _ in range(args.repeats):
        runs["rules"].append(measure(args.messages))
    keys = ("send_us", "check_us", "rules_us")
    median: dict[str, Any] = {
        case: {key: statistics.median(r[key] for r in rs) for key in keys}
        for case, rs in runs.items()
    }
    extra = median["rules"]["send_us"] - median["none"]["send_us"]
    print(
        f"message_send: {median['none']['send_us']:.0f} µs with no rules, "
        f"{median['rules']['send_us']:.0f} µs with {args.rules} (+{extra:.0f} µs); "
        f"the rules alone: {median['none']['rules_us']:.1f} µs -> "
        f"{median['rules']['rules_us']:.1f} µs per message; the whole check_send (its reads "
        f"included): {median['none']['check_us']:.0f} -> {median['rules']['check_us']:.0f} µs "
        f"(medians of {args.repeats})"
    )
    out = save(
        "rules",
        {"target": "inprocess", "rules": args.rules, "runs": runs, "median": median},
    )
    print(f"-> {out.name}")


if __name__ == "__main__":
    main()
