"""Scenario: sockets that come and go. What the server's garbage-collector keeper
(``messaging.servers.GcKeeper``) costs and whether the heap stays bounded.

    python -m bench.churn --target uvicorn --sockets 2000 --churn 100 --duration 60

``--sockets`` clients join the general room; every second ``--churn`` of them (chosen at
random) drop their connection and as many new ones connect and join, so the process holds
about the same number of sockets while thousands close. A sender posts ``--rate`` messages/s
to the room (delivered to every socket). Reported: the sender's send -> ack p50/p99 (a full
collection stalls the event loop, so its pauses show here), the server's full collections
and their mean pause (its ``/metrics``), and the heap (``chat_heap_blocks``) and RSS once the
sockets are joined and at the end. Freezing without full collections grows the heap by what
every closed socket leaves in cycles (tests/e2e/test_servers.py shows 2x after 2,400).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from bench.common import (
    TARGETS,
    Stack,
    generator_gc_paused,
    in_batches,
    ms,
    percentile,
    pin_generator,
    repeat,
    rss_bytes,
    save,
)
from bench.wire import ChatSocket, join, open_socket

USERS = 500


async def measure(stack: Stack, sockets: int, churn: int, rate: float, duration: float) -> dict:
    seeded = stack.seed("users", USERS + 1)
    people = seeded["result"]
    room = seeded["general"]
    pid = stack.workers[0].pid
    made = 0

    async def connect() -> ChatSocket:
        nonlocal made
        made += 1
        sock = await open_socket(stack.urls[0], people[made % USERS]["access"])
        await join(sock, room)
        return sock

    live = await in_batches(range(sockets), lambda _: connect())
    await asyncio.sleep(11)  # a keeper tick (every 10 s) has measured the joined heap
    before = stack.metrics()
    rss_joined = rss_bytes(pid)

    sent_at: dict[str, int] = {}
    acks: list[float] = []

    def on_sender(frame: dict) -> None:
        if frame["type"] == "ack" and (at := sent_at.pop(frame["client_id"], None)):
            acks.append((time.monotonic_ns() - at) / 1e6)

    sender = await open_socket(stack.urls[0], people[USERS]["access"], on_sender)
    await join(sender, room)

    async def send_forever() -> None:
        n = 0
        start = time.monotonic()
        while True:
            client_id = f"c{n}"
            sent_at[client_id] = time.monotonic_ns()
            sender.send({"type": "send", "room": room, "body": f"m{n}", "client_id": client_id})
            n += 1
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))

    closed = 0
    peak_heap = before.get("chat_heap_blocks", 0.0)
    with generator_gc_paused():
        sending = asyncio.create_task(send_forever())
        began = time.monotonic()
        while time.monotonic() - began < duration:
            tick = time.monotonic()
            random.shuffle(live)
            for sock in live[:churn]:
                sock.abort()
            closed += churn
            live = live[churn:] + list(await asyncio.gather(*(connect() for _ in range(churn))))
            peak_heap = max(peak_heap, stack.metrics().get("chat_heap_blocks", 0.0))
            await asyncio.sleep(max(0.0, tick + 1 - time.monotonic()))
        sending.cancel()
        await asyncio.sleep(1)
    after = stack.metrics()
    for sock in [*live, sender]:
        sock.abort()
    collections = after.get("chat_gc_full_collection_seconds_count", 0.0) - before.get(
        "chat_gc_full_collection_seconds_count", 0.0
    )
    paused = after.get("chat_gc_full_collection_seconds_sum", 0.0) - before.get(
        "chat_gc_full_collection_seconds_sum", 0.0
    )
    return {
        "sockets": sockets,
        "churn_per_s": churn,
        "closed": closed,
        "duration_s": duration,
        "rate": rate,
        "acked": len(acks),
        "ack_p50_ms": percentile(acks, 50),
        "ack_p99_ms": percentile(acks, 99),
        "full_collections": collections,
        "full_collection_mean_s": paused / collections if collections else 0.0,
        "heap_joined": before.get("chat_heap_blocks", 0.0),
        "heap_peak": peak_heap,
        "heap_end": after.get("chat_heap_blocks", 0.0),
        "rss_joined_mb": rss_joined / 2**20,
        "rss_end_mb": rss_bytes(pid) / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(TARGETS), default="uvicorn")
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--churn", type=int, default=100, help="sockets replaced per second")
    parser.add_argument("--rate", type=float, default=5.0, help="messages/s to the room")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    pin_generator()
    result = asyncio.run(
        repeat(
            args.target,
            args.repeats,
            lambda stack: measure(stack, args.sockets, args.churn, args.rate, args.duration),
            line=lambda r: (
                f"{r['sockets']:,} sockets, {r['closed']:,} closed and replaced:"
                f"  ack p50 {ms(r['ack_p50_ms'])} p99 {ms(r['ack_p99_ms'])}"
                f"  {r['full_collections']:.0f} full collections"
                f" ({r['full_collection_mean_s'] * 1000:.0f} ms each)"
                f"  heap {r['heap_joined'] / 1e6:.2f}M blocks joined, peak"
                f" {r['heap_peak'] / 1e6:.2f}M, end {r['heap_end'] / 1e6:.2f}M"
                f"  RSS {r['rss_joined_mb']:.0f} -> {r['rss_end_mb']:.0f} MB"
            ),
            keys=[
                "ack_p50_ms",
                "ack_p99_ms",
                "full_collections",
                "full_collection_mean_s",
                "heap_joined",
                "heap_peak",
                "heap_end",
                "rss_joined_mb",
                "rss_end_mb",
            ],
        )
    )
    out = save("churn", result)
    median = result["median"]
    print(
        f"churn {args.target}: ack p50/p99 {ms(median['ack_p50_ms'])}/"
        f"{ms(median['ack_p99_ms'])}, {median['full_collections']:.0f} full collections "
        f"({median['full_collection_mean_s'] * 1000:.0f} ms each), heap peak/joined "
        f"{median['heap_peak'] / max(median['heap_joined'], 1):.2f}x (medians of {args.repeats})"
        f" -> {out.name}"
    )


if __name__ == "__main__":
    main()
