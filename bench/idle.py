"""Scenario 3, idle capacity: 10,000 connections held on one server process.

    python -m bench.idle --target uvicorn --connections 10000

Each connection authenticates and joins the lobby room, then nothing happens. Reported:
the server's resident memory per connection (growth from a warm process holding 100
connections to one holding all of them, divided by the difference) and its CPU use over an
idle window, in % of one core (what keep-alive pings, presence heartbeats and timers cost).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.common import (
    TARGETS,
    Stack,
    cpu_seconds,
    in_batches,
    pin_generator,
    repeat,
    rss_bytes,
    save,
)
from bench.wire import ChatSocket, join, open_socket

USERS = 500  # connections are spread over this many identities
WARM = 100


async def measure(stack: Stack, connections: int, idle_seconds: float) -> dict:
    seeded = stack.seed("users", USERS)
    tokens = [user["access"] for user in seeded["result"]]
    room = seeded["general"]
    pid = stack.workers[0].pid
    sockets: list[ChatSocket] = []

    async def connect(n: int) -> None:
        sock = await open_socket(stack.urls[0], tokens[n % len(tokens)])
        await join(sock, room)
        sockets.append(sock)

    await asyncio.gather(*(connect(n) for n in range(WARM)))
    await asyncio.sleep(2)
    rss_warm = rss_bytes(pid)
    began = time.monotonic()
    await in_batches(range(WARM, connections), connect)
    ramp = time.monotonic() - began
    await asyncio.sleep(5)  # presence broadcasts of the ramp settle
    rss_full = rss_bytes(pid)
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(idle_seconds)
    idle_cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
    open_now = sum(1 for sock in sockets if not sock.closed.done())
    for sock in sockets:
        sock.abort()
    return {
        "connections": connections,
        "open_at_end": open_now,
        "ramp_s": ramp,
        "rss_warm_mb": rss_warm / 2**20,
        "rss_full_mb": rss_full / 2**20,
        "kb_per_connection": (rss_full - rss_warm) / (connections - WARM) / 1024,
        "idle_cpu_percent": idle_cpu * 100,
    }


async def run(target: str, connections: int, idle_seconds: float, repeats: int) -> dict:
    return await repeat(
        target,
        repeats,
        lambda stack: measure(stack, connections, idle_seconds),
        line=lambda r: (
            f"{r['open_at_end']:,} open: {r['kb_per_connection']:.1f} KB/connection "
            f"(RSS {r['rss_warm_mb']:.0f} -> {r['rss_full_mb']:.0f} MB), "
            f"idle CPU {r['idle_cpu_percent']:.2f}% of a core, ramp {r['ramp_s']:.1f} s"
        ),
        keys=["kb_per_connection", "idle_cpu_percent", "ramp_s"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(TARGETS), default="uvicorn")
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle measured")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    pin_generator()
    result = asyncio.run(run(args.target, args.connections, args.idle, args.repeats))
    out = save("idle", result)
    median = result["median"]
    print(
        f"idle {args.target}: {median['kb_per_connection']:.1f} KB/connection, idle CPU "
        f"{median['idle_cpu_percent']:.2f}% of a core at {args.connections:,} connections "
        f"(medians of {args.repeats}) -> {out.name}"
    )


if __name__ == "__main__":
    main()
