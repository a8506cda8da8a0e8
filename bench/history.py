"""Scenario 5, history depth: a room holding 1,000,000 messages; the latest page against a
page 900,000 messages back.

    python -m bench.history --target uvicorn      # SQLite
    python -m bench.history --target postgresql

Each request is ``GET /api/rooms/<id>/messages/?limit=50`` (the latest page) or with
``before=<seq>`` (the deep page), over one keep-alive HTTP connection, one at a time, the two
kinds interleaved so both see the same machine. Reported: p50 and p99 of each, in ms, as the
client sees them (token check, query, serialization, HTTP); and the same two pages read
in-process, the query and the wire objects without the HTTP stack (``--in-process``, run in
the server's environment), which separates the depth's cost from the framework's.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import orjson

from bench.common import ROOT, TARGETS, Stack, ms, percentile, pin_generator, save

WARMUP = 50


def timed_get(conn: http.client.HTTPConnection, path: str, token: str) -> tuple[float, dict]:
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
    return elapsed, orjson.loads(body)


def measure(stack: Stack, room: int, token: str, messages: int, requests: int) -> dict:
    parts = urlsplit(stack.http)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    deep_before = messages - 900_000 if messages > 900_000 else messages // 10
    latest_path = f"/api/rooms/{room}/messages/?limit=50"
    deep_path = f"/api/rooms/{room}/messages/?limit=50&before={deep_before}"
    _, page = timed_get(conn, latest_path, token)
    assert page["results"][-1]["seq"] == messages, "the latest page ends at the last message"
    _, page = timed_get(conn, deep_path, token)
    assert page["results"][-1]["seq"] == deep_before - 1 and len(page["results"]) == 50
    timings = latest_and_deep(
        lambda: timed_get(conn, latest_path, token)[0],
        lambda: timed_get(conn, deep_path, token)[0],
        requests,
    )
    conn.close()
    return {
        "messages": messages,
        "deep_before_seq": deep_before,
        **timings,
        "deep_to_latest_p50": timings["deep_p50_ms"] / timings["latest_p50_ms"],
    }


def latest_and_deep(latest: Callable[[], float], deep: Callable[[], float], requests: int) -> dict:
    """p50/p99 in ms of two timed reads, warmed up, then taken in turn ``requests`` times
    each so both see the same machine."""
    for _ in range(WARMUP):
        latest(), deep()
    latest_ms, deep_ms = [], []
    for _ in range(requests):
        latest_ms.append(latest())
        deep_ms.append(deep())
    return {
        "latest_p50_ms": percentile(latest_ms, 50),
        "latest_p99_ms": percentile(latest_ms, 99),
        "deep_p50_ms": percentile(deep_ms, 50),
        "deep_p99_ms": percentile(deep_ms, 99),
    }


def in_process(room_id: int, deep_before: int, requests: int) -> dict:
    """The selector and ``message_data`` alone, in this process (Django set up here)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    django.setup()
    from messaging.selectors import messages_before
    from messaging.serializers import message_data
    from rooms.models import ChatRoom

    room = ChatRoom.objects.get(pk=room_id)

    def page(before: int | None) -> float:
        started = time.perf_counter()
        rows, _ = messages_before(room=room, before=before, limit=50)
        [message_data(m) for m in rows]
        return (time.perf_counter() - started) * 1000

    return latest_and_deep(lambda: page(None), lambda: page(deep_before), requests)


def run(target: str, messages: int, requests: int, repeats: int) -> dict:
    with Stack(target) as stack:  # one room is seeded; each repeat measures it again
        started = time.monotonic()
        seeded = stack.seed("history", messages)["result"]
        seeding = time.monotonic() - started
        runs = []
        for _ in range(repeats):
            result = measure(stack, seeded["room"], seeded["reader"]["access"], messages, requests)
            out = subprocess.run(
                [sys.executable, "-m", "bench.history", "--in-process", str(seeded["room"]),
                 "--before", str(result["deep_before_seq"]), "--requests", str(requests)],
                cwd=ROOT, env=stack.env, check=True, capture_output=True,
            )  # fmt: skip
            result["in_process"] = orjson.loads(out.stdout)
            runs.append(result)
            inner = result["in_process"]
            print(
                f"  {target:12} in-process: latest p50 {ms(inner['latest_p50_ms'])} p99 "
                f"{ms(inner['latest_p99_ms'])}; 900,000 back p50 {ms(inner['deep_p50_ms'])} "
                f"p99 {ms(inner['deep_p99_ms'])}",
                flush=True,
            )
            print(
                f"  {target:12} {messages:,} messages: latest p50 {ms(result['latest_p50_ms'])}"
                f" p99 {ms(result['latest_p99_ms'])}; 900,000 back p50 "
                f"{ms(result['deep_p50_ms'])} p99 {ms(result['deep_p99_ms'])}",
                flush=True,
            )
    keys = ["latest_p50_ms", "latest_p99_ms", "deep_p50_ms", "deep_p99_ms"]
    return {
        "target": target,
        "about": TARGETS[target].about,
        "seeding_s": seeding,
        "runs": runs,
        "median": {
            **{key: statistics.median(r[key] for r in runs) for key in keys},
            "deep_to_latest_p50": statistics.median(r["deep_to_latest_p50"] for r in runs),
            "in_process": {
                key: statistics.median(r["in_process"][key] for r in runs) for key in keys
            },
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(TARGETS), default="uvicorn")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=500, help="of each kind, per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--in-process", type=int, metavar="ROOM", help=argparse.SUPPRESS)
    parser.add_argument("--before", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        sys.stdout.buffer.write(
            orjson.dumps(in_process(args.in_process, args.before, args.requests))
        )
        return
    pin_generator()
    result = run(args.target, args.messages, args.requests, args.repeats)
    out = save("history", result)
    median = result["median"]
    inner = median["in_process"]
    print(
        f"history {args.target}: over HTTP latest p50/p99 {ms(median['latest_p50_ms'])}/"
        f"{ms(median['latest_p99_ms'])}, 900,000 back p50/p99 {ms(median['deep_p50_ms'])}/"
        f"{ms(median['deep_p99_ms'])} ({median['deep_to_latest_p50']:.2f}x); in-process latest "
        f"{ms(inner['latest_p50_ms'])}/{ms(inner['latest_p99_ms'])}, 900,000 back "
        f"{ms(inner['deep_p50_ms'])}/{ms(inner['deep_p99_ms'])} (medians of {args.repeats})"
        f" -> {out.name}"
    )


if __name__ == "__main__":
    main()
