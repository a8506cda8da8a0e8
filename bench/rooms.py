"""Scenario 2, many rooms: 250 direct rooms, both members sending 1 message/s each; or
(``--public``, issue 16) 10,000 connections in 2,000 public rooms, 5 each, one message per
second per room.

    python -m bench.rooms --target uvicorn --rooms 250 --duration 30
    python -m bench.rooms --target uvicorn --public 2000 --per-room 5 --duration 30

Every message is stored and delivered to the room's members. The WebSocket's sends that wait
for the database thread are stored together (group commit: one transaction per group);
``--public`` reports how many sends each transaction held (the server's /metrics).
Reported: messages/s, send -> ack and send -> delivery latency (p50/p99), and loss (an
acknowledged message one of the room's other members never received).

``--public``: the rooms' members are ``rooms`` guests (5 per room by default), each holding
one socket per room it is in (so 10,000 sockets from 2,000 guests, each in 5 rooms, no two of
a room's sockets the same guest); each room's sends rotate over its members. Also reported:
the server's memory per connection (RSS after all have joined minus RSS with 100 joined,
over the difference). The send limit is relaxed as in every scenario but ``--senders``: a
guest here sends 1 message/s over its 5 rooms, the default limit exactly.
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
from bench.wire import ChatSocket, Frame, join, open_socket

STRAGGLERS = 3.0
WARM = 100  # sockets joined before the memory baseline


class Tally:
    """By ``client_id``: when each send was written, its ack latency, and its delivery latency
    at each of the room's other members (ms), from the frames every member's socket reads."""

    def __init__(self) -> None:
        self.sent_at: dict[str, int] = {}
        self.acked: dict[str, float] = {}
        self.delivered: dict[str, list[float]] = {}

    def send(self, sock: ChatSocket, room: int, client_id: str, body: str) -> None:
        self.sent_at[client_id] = time.monotonic_ns()
        sock.send({"type": "send", "room": room, "body": body, "client_id": client_id})

    def listener(self, me: int):  # type: ignore[no-untyped-def]
        def on_frame(frame: Frame) -> None:
            kind = frame["type"]
            if kind == "ack":
                client_id = frame["client_id"]
                self.acked[client_id] = (time.monotonic_ns() - self.sent_at[client_id]) / 1e6
            elif kind == "message" and frame["message"]["author"]["id"] != me:
                client_id = frame["message"]["client_id"]
                if client_id in self.sent_at:
                    latency = (time.monotonic_ns() - self.sent_at[client_id]) / 1e6
                    self.delivered.setdefault(client_id, []).append(latency)

        return on_frame

    def delivery_ms(self) -> list[float]:
        return [latency for latencies in self.delivered.values() for latency in latencies]


async def measure(stack: Stack, rooms: int, duration: float) -> dict:
    pairs = stack.seed("direct", rooms)["result"]
    tally = Tally()
    sent_at, acked, delivered = tally.sent_at, tally.acked, tally.delivered

    sockets = []
    for pair in pairs:
        for role in ("owner", "borrower"):
            person = pair[role]
            sock = await open_socket(stack.urls[0], person["access"], tally.listener(person["id"]))
            await join(sock, pair["room"])
            sockets.append((sock, pair["room"], person["id"]))

    async def talk(sock, room: int, me: int) -> None:  # type: ignore[no-untyped-def]
        await asyncio.sleep(random.random())  # spread the starts over the first second
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < duration:
            tally.send(sock, room, f"{me}-{n}", f"hello {n}")
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
    ack_ms, delivery_ms = list(acked.values()), tally.delivery_ms()
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


async def measure_public(stack: Stack, rooms: int, per_room: int, duration: float) -> dict:
    room_ids = stack.seed("public", rooms)["result"]
    people = stack.seed("users", rooms)["result"]  # as many guests as rooms: each in per_room
    pid = stack.workers[0].pid
    tally = Tally()
    sent_at, acked, delivered = tally.sent_at, tally.acked, tally.delivered

    # Room r's members: guests (r + k * rooms / per_room) mod rooms, k < per_room: distinct,
    # and every guest is in per_room rooms.
    stride = max(1, rooms // per_room)
    seats = [
        (room_ids[r], people[(r + k * stride) % rooms])
        for r in range(rooms)
        for k in range(per_room)
    ]
    members: dict[int, list[tuple[ChatSocket, int]]] = {}

    async def seat(room: int, person: dict) -> None:
        sock = await open_socket(stack.urls[0], person["access"], tally.listener(person["id"]))
        await join(sock, room)
        members.setdefault(room, []).append((sock, person["id"]))

    await asyncio.gather(*(seat(*s) for s in seats[:WARM]))
    await asyncio.sleep(2)
    rss_warm = rss_bytes(pid)
    began = time.monotonic()
    await in_batches(seats[WARM:], lambda s: seat(*s))
    ramp = time.monotonic() - began
    await asyncio.sleep(5)  # presence broadcasts of the ramp settle
    rss_full = rss_bytes(pid)

    async def talk(room: int, sockets: list[tuple[ChatSocket, int]]) -> None:
        await asyncio.sleep(random.random())  # spread the rooms over the second
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < duration:
            sock, _ = sockets[n % len(sockets)]
            tally.send(sock, room, f"{room}-{n}", f"hello {n}")
            n += 1
            await asyncio.sleep(start + n - time.monotonic())

    others = per_room - 1
    with generator_gc_paused():
        began = time.monotonic()
        await asyncio.gather(*(talk(room, sockets) for room, sockets in members.items()))
        elapsed = time.monotonic() - began
        deadline = time.monotonic() + STRAGGLERS
        while time.monotonic() < deadline and (
            len(acked) < len(sent_at) or any(len(delivered.get(c, ())) < others for c in acked)
        ):
            await asyncio.sleep(0.1)
    open_now = sum(
        1 for sockets in members.values() for sock, _ in sockets if not sock.closed.done()
    )
    for sockets in members.values():
        for sock, _ in sockets:
            sock.abort()
    ack_ms = list(acked.values())
    delivery_ms = tally.delivery_ms()
    groups, grouped = group_commits(stack)
    return {
        "rooms": rooms,
        "per_room": per_room,
        "transactions": groups,  # send groups committed (group commit), the whole run
        "sends_per_transaction": grouped / groups if groups else 0.0,
        "sockets": len(seats),
        "open_at_end": open_now,
        "ramp_s": ramp,
        "sent": len(sent_at),
        "acked": len(acked),
        "lost": (len(sent_at) - len(acked)) * others
        + sum(max(0, others - len(delivered.get(c, ()))) for c in acked),
        "messages_per_s": len(acked) / elapsed,
        "ack_p50_ms": percentile(ack_ms, 50),
        "ack_p99_ms": percentile(ack_ms, 99),
        "delivery_p50_ms": percentile(delivery_ms, 50),
        "delivery_p99_ms": percentile(delivery_ms, 99),
        "rss_warm_mb": rss_warm / 2**20,
        "rss_full_mb": rss_full / 2**20,
        # (no figure when every socket is within the baseline's first WARM)
        "kb_per_connection": (rss_full - rss_warm) / (len(seats) - WARM) / 1024
        if len(seats) > WARM
        else float("nan"),
    }


def group_commits(stack: Stack) -> tuple[int, float]:
    """The server's ``chat_send_group_size`` histogram (/metrics): how many send groups it
    committed, and how many sends they held."""
    values = stack.metrics()
    return int(values.get("chat_send_group_size_count", 0)), values.get(
        "chat_send_group_size_sum", 0.0
    )


async def run(target: str, rooms: int, duration: float, repeats: int, per_room: int = 0) -> dict:
    if per_room:
        return await repeat(
            target,
            repeats,
            lambda stack: measure_public(stack, rooms, per_room, duration),
            line=lambda r: (
                f"{r['messages_per_s']:6.0f} msg/s in {rooms} public rooms x {per_room}"
                f" ({r['open_at_end']:,} of {r['sockets']:,} open)"
                f"  ack p50 {ms(r['ack_p50_ms'])} p99 {ms(r['ack_p99_ms'])}"
                f"  delivery p50 {ms(r['delivery_p50_ms'])} p99 {ms(r['delivery_p99_ms'])}"
                f"  lost {r['lost']}  {r['kb_per_connection']:.1f} KB/connection"
                f"  {r['sends_per_transaction']:.1f} sends/transaction"
            ),
            keys=[
                "messages_per_s",
                "ack_p50_ms",
                "ack_p99_ms",
                "delivery_p50_ms",
                "delivery_p99_ms",
                "kb_per_connection",
                "sends_per_transaction",
            ],
        )
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
    parser.add_argument(
        "--public", type=int, metavar="ROOMS", help="public rooms of --per-room sockets each"
    )
    parser.add_argument("--per-room", type=int, default=5)
    args = parser.parse_args()
    pin_generator()
    rooms, per_room = (args.public, args.per_room) if args.public else (args.rooms, 0)
    result = asyncio.run(run(args.target, rooms, args.duration, args.repeats, per_room))
    scenario = "rooms_public" if per_room else "rooms"
    out = save(scenario, result)
    median = result["median"]
    memory = (
        f", {median['kb_per_connection']:.1f} KB/connection,"
        f" {median['sends_per_transaction']:.1f} sends/transaction"
        if per_room
        else ""
    )
    print(
        f"{scenario} {args.target}{memory}: {median['messages_per_s']:.0f} msg/s, ack p50/p99 "
        f"{ms(median['ack_p50_ms'])}/{ms(median['ack_p99_ms'])}, delivery p50/p99 "
        f"{ms(median['delivery_p50_ms'])}/{ms(median['delivery_p99_ms'])}, "
        f"lost {result['lost_total']} (medians of {args.repeats}) -> {out.name}"
    )


if __name__ == "__main__":
    main()
