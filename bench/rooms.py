"""Scenario 2, many rooms: 250 direct rooms, both members sending 1 message/s each.

    python -m bench.rooms --target uvicorn --rooms 250 --duration 30

Every message is stored (one transaction each) and delivered to the room's two members.
Reported: messages/s, send -> ack and send -> peer delivery latency (p50/p99), and loss (an
acknowledged message its peer never received).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from bench.common import TARGETS, Stack, ms, percentile, pin_generator, repeat, save
from bench.wire import Frame, join, open_socket

STRAGGLERS = 3.0


async def measure(stack: Stack, rooms: int, duration: float) -> dict:
    pairs = stack.seed("direct", rooms)["result"]
    acked: dict[str, float] = {}  # client_id -> ack latency
    delivered: dict[str, float] = {}  # client_id -> delivery latency at the peer
    sent_at: dict[str, int] = {}

    def member(me: int):  # type: ignore[no-untyped-def]
        def on_frame(frame: Frame) -> None:
            kind = frame["type"]
            if kind == "ack":
                client_id = frame["client_id"]
                acked[client_id] = (time.monotonic_ns() - sent_at[client_id]) / 1e6
            elif kind == "message" and frame["message"]["author"]["id"] != me:
                client_id = frame["message"]["client_id"]
                if client_id in sent_at:
                    delivered[client_id] = (time.monotonic_ns() - sent_at[client_id]) / 1e6

        return on_frame

    sockets = []
    for pair in pairs:
        for role in ("owner", "borrower"):
            person = pair[role]
            sock = await open_socket(stack.urls[0], person["access"], member(person["id"]))
            await join(sock, pair["room"])
            sockets.append((sock, pair["room"], person["id"]))

    async def talk(sock, room: int, me: int) -> None:  # type: ignore[no-untyped-def]
        await asyncio.sleep(random.random())  # spread the starts over the first second
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < duration:
            client_id = f"{me}-{n}"
            sent_at[client_id] = time.monotonic_ns()
            sock.send({"type": "send", "room": room, "body": f"hello {n}", "client_id": client_id})
            n += 1
            await asyncio.sleep(start + n - time.monotonic())

    began = time.monotonic()
    await asyncio.gather(*(talk(*entry) for entry in sockets))
    elapsed = time.monotonic() - began
    deadline = time.monotonic() + STRAGGLERS
    while time.monotonic() < deadline and len(delivered) < len(acked):
        await asyncio.sleep(0.05)
    for sock, _, _ in sockets:
        sock.close()
    ack_ms, delivery_ms = list(acked.values()), list(delivered.values())
    return {
        "rooms": rooms,
        "sockets": len(sockets),
        "sent": len(sent_at),
        "acked": len(acked),
        "delivered": len(delivered),
        "lost": len(acked) - len(set(acked) & set(delivered)),
        "messages_per_s": len(acked) / elapsed,
        "ack_p50_ms": percentile(ack_ms, 50),
        "ack_p99_ms": percentile(ack_ms, 99),
        "delivery_p50_ms": percentile(delivery_ms, 50),
        "delivery_p99_ms": percentile(delivery_ms, 99),
    }


async def run(target: str, rooms: int, duration: float, repeats: int) -> dict:
    return await repeat(
        target,
        repeats,
        lambda stack: measure(stack, rooms, duration),
        line=lambda r: (
            f"{r['messages_per_s']:6.0f} msg/s in {rooms} rooms"
            f"  ack p50 {ms(r['ack_p50_ms'])} p99 {ms(r['ack_p99_ms'])}"
            f"  delivery p50 {ms(r['delivery_p50_ms'])} p99 {ms(r['delivery_p99_ms'])}"
            f"  lost {r['lost']}"
        ),
        keys=["messages_per_s", "ack_p50_ms", "ack_p99_ms", "delivery_p50_ms", "delivery_p99_ms"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(TARGETS), default="uvicorn")
    parser.add_argument("--rooms", type=int, default=250)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    pin_generator()
    result = asyncio.run(run(args.target, args.rooms, args.duration, args.repeats))
    out = save("rooms", result)
    median = result["median"]
    print(
        f"rooms {args.target}: {median['messages_per_s']:.0f} msg/s, ack p50/p99 "
        f"{ms(median['ack_p50_ms'])}/{ms(median['ack_p99_ms'])}, delivery p50/p99 "
        f"{ms(median['delivery_p50_ms'])}/{ms(median['delivery_p99_ms'])}, "
        f"lost {result['lost_total']} (medians of {args.repeats}) -> {out.name}"
    )


if __name__ == "__main__":
    main()
