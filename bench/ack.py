"""Scenario 6, send -> ack with storage: 200 sends/s, on SQLite and on PostgreSQL.

    python -m bench.ack --target uvicorn       # SQLite (the embedded default's database)
    python -m bench.ack --target postgresql    # PostgreSQL through Django's pool

Twenty people in one room each send 10 messages/s (the per-user limit is raised for the
run), evenly spread. With ``--direct`` each writes instead in a direct room of their own to
an owner who is never online: every message is then a notification owed (issue 12), a push
task enqueued in the send's transaction and run by the task worker (in the embedded default
a thread of the same server process) — the send path with offline recipients. An ack means
the message is committed. Reported: p50 and p99 of the
time from writing the ``send`` frame to reading its ``ack``, and any send never acked.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.common import TARGETS, Stack, ms, percentile, pin_generator, repeat, save
from bench.wire import Frame, join, open_socket

SENDERS = 20
STRAGGLERS = 3.0


async def measure(stack: Stack, rate: float, duration: float, direct: bool = False) -> dict:
    if direct:
        pairs = stack.seed("direct", SENDERS)["result"]
        people = [(pair["borrower"], pair["room"]) for pair in pairs]
    else:
        seeded = stack.seed("users", SENDERS)
        people = [(person, seeded["general"]) for person in seeded["result"]]
    sent_at: dict[str, int] = {}
    acked: dict[str, float] = {}

    def on_frame(frame: Frame) -> None:
        if frame["type"] == "ack":
            client_id = frame["client_id"]
            acked[client_id] = (time.monotonic_ns() - sent_at[client_id]) / 1e6

    sockets = []
    for person, room in people:
        sock = await open_socket(stack.urls[0], person["access"], on_frame)
        await join(sock, room)
        sockets.append((sock, person["id"], room))

    per_sender = rate / SENDERS

    async def talk(n: int, sock, me: int, room: int) -> None:  # type: ignore[no-untyped-def]
        await asyncio.sleep(n / rate)  # evenly spread: one send every 1/rate s overall
        start = time.monotonic()
        count = 0
        while time.monotonic() - start < duration:
            client_id = f"{me}-{count}"
            sent_at[client_id] = time.monotonic_ns()
            sock.send(
                {"type": "send", "room": room, "body": f"hello {count}", "client_id": client_id}
            )
            count += 1
            await asyncio.sleep(start + count / per_sender - time.monotonic())

    await asyncio.sleep(1)  # presence settles
    began = time.monotonic()
    await asyncio.gather(*(talk(n, *conn) for n, conn in enumerate(sockets)))
    elapsed = time.monotonic() - began
    deadline = time.monotonic() + STRAGGLERS
    while time.monotonic() < deadline and len(acked) < len(sent_at):
        await asyncio.sleep(0.05)
    for sock, _, _ in sockets:
        sock.close()
    latencies = list(acked.values())
    return {
        "rate": rate,
        "sent": len(sent_at),
        "acked": len(acked),
        "unacked": len(sent_at) - len(acked),
        "sends_per_s": len(sent_at) / elapsed,
        "ack_p50_ms": percentile(latencies, 50),
        "ack_p99_ms": percentile(latencies, 99),
    }


async def run(target: str, rate: float, duration: float, repeats: int, direct: bool) -> dict:
    result = await repeat(
        target,
        repeats,
        lambda stack: measure(stack, rate, duration, direct),
        line=lambda r: (
            f"{r['sends_per_s']:5.0f} sends/s: ack p50 {ms(r['ack_p50_ms'])} "
            f"p99 {ms(r['ack_p99_ms'])}, unacked {r['unacked']}"
        ),
        keys=["ack_p50_ms", "ack_p99_ms", "sends_per_s"],
    )
    return {**result, "unacked_total": sum(r["unacked"] for r in result["runs"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(TARGETS), default="uvicorn")
    parser.add_argument("--rate", type=float, default=200.0, help="sends/s in all")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--direct", action="store_true", help="to offline owners (pushes owed)")
    args = parser.parse_args()
    pin_generator()
    result = asyncio.run(run(args.target, args.rate, args.duration, args.repeats, args.direct))
    out = save("ack-direct" if args.direct else "ack", result)
    median = result["median"]
    print(
        f"ack{' direct' if args.direct else ''} {args.target}: {args.rate:.0f} sends/s, "
        f"ack p50/p99 {ms(median['ack_p50_ms'])}/"
        f"{ms(median['ack_p99_ms'])}, unacked {result['unacked_total']} "
        f"(medians of {args.repeats}) -> {out.name}"
    )


if __name__ == "__main__":
    main()
