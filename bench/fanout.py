"""Scenario 1, fan-out: one room, N receivers, one sender; the offered rate steps up. The
result is the highest clean rate in deliveries/s (p99 <= 100 ms, nothing lost); the sweep
goes on past p99 100 ms until something is lost (or p99 passes 1 s), which also gives the
highest rate with nothing lost at any latency (how the tutorial consumer is compared).

    python -m bench.fanout --target uvicorn --repeats 3
    python -m bench.fanout --target reference          # the ceiling
    python -m bench.fanout --target tutorial           # the Channels-tutorial consumer
    python -m bench.fanout --target uvicorn --senders  # many senders (issue 16)

``--senders``: the messages of a step come from rate / 0.8 senders (each a separate guest,
joined to the room like the receivers, so each sends 0.8 messages/s: within the *default*
send limit, 10 per 10 s, which this mode leaves in force). Each sender's messages are a
stored write, a rate-limit check and an ack, as in a real room. Saved as scenario
``senders``; ``bench.report`` gives its clean rate as a ratio to the reference's.

Latency is send -> receive on one clock (the generator's), from a timestamp in the body.
Loss is counted per (receiver, acknowledged message) pair; in ``--senders`` mode a send
refused or never acknowledged counts as lost to every receiver.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import time
from collections.abc import Callable

from bench import chart
from bench.common import TARGETS, Stack, percentile, pin_generator, save
from bench.wire import ChatSocket, Frame, join, open_socket

DEFAULT_RATES = "1,2,4,8,10,20,40,60,80,100,120,140,160,200,240"  # messages/s; x receivers
SENDER_RATE = 0.8  # messages/s per sender in --senders mode (the default limit is 1/s)
STRAGGLERS = 2.0  # seconds to wait for late deliveries after a step
GIVE_UP_P99_MS = 1000.0


def senders_for(rate: float) -> int:
    """How many senders share ``rate`` messages/s in ``--senders`` mode."""
    return max(1, math.ceil(rate / SENDER_RATE))


async def sweep(
    stack: Stack,
    receivers: int,
    rates: list[int],
    duration: float,
    all_steps: bool,
    many: bool = False,
    on_step: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """``on_step(number, rate)`` is called as each step starts (``bench.split`` profiles
    there), and with number -1 once the last one is over."""
    pool = max(senders_for(rate) for rate in rates) if many else 1
    if stack.target.server == "reference":
        token = "none"
        sender_tokens = ["none"] * pool
        room = 1
    else:
        seeded = stack.seed("users", 1 + pool)
        token, *sender_tokens = (user["access"] for user in seeded["result"])
        room = seeded["general"]

    latencies: list[float] = []
    ack_latencies: list[float] = []  # send -> ack (stored), ms
    sent_at: dict[str, int] = {}  # client_id -> monotonic_ns at send
    counts = {"received": 0, "acks": 0, "step": 0, "refused": 0}

    def on_receive(frame: Frame) -> None:
        if frame["type"] == "message":
            step, sent_ns = frame["message"]["body"].split(":")
            if int(step) == counts["step"]:
                latencies.append((time.monotonic_ns() - int(sent_ns)) / 1e6)
                counts["received"] += 1

    def on_sender(frame: Frame) -> None:
        kind = frame["type"]
        if kind == "ack":
            counts["acks"] += 1
            if (at := sent_at.pop(frame["client_id"], None)) is not None:
                ack_latencies.append((time.monotonic_ns() - at) / 1e6)
        elif kind == "error":
            counts["refused"] += 1

    sockets: list[ChatSocket] = []
    for n in range(receivers):
        sock = await open_socket(stack.urls[n % len(stack.urls)], token, on_receive)
        sockets.append(sock)
    await asyncio.gather(*(join(sock, room) for sock in sockets))
    # Senders are spread over the processes as the receivers are (sender n on url n).
    senders = [
        await open_socket(stack.urls[n % len(stack.urls)], sender_tokens[n], on_sender)
        for n in range(pool)
    ]
    await asyncio.gather(*(join(sender, room) for sender in senders))

    async def step(number: int, rate: int, seconds: float) -> dict:
        counts.update(step=number, received=0, acks=0, refused=0)
        latencies.clear()
        ack_latencies.clear()
        sent_at.clear()
        interval = 1 / rate
        active = senders[: senders_for(rate)] if many else senders
        if on_step is not None:
            on_step(number, rate)
        usage = stack.usage()
        start = time.monotonic()
        sent = 0
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed / interval) + 1
            while sent < due:
                # Round robin: each of the step's senders sends every len(active) / rate s
                # (>= 1 / SENDER_RATE), so none exceeds the default send limit.
                client_id, now = f"{number}-{sent}", time.monotonic_ns()
                sent_at[client_id] = now
                body = f"{number}:{now}"
                active[sent % len(active)].send(
                    {"type": "send", "room": room, "body": body, "client_id": client_id}
                )
                sent += 1
            await asyncio.sleep(min(interval, 0.005))
        deadline = time.monotonic() + STRAGGLERS
        while time.monotonic() < deadline and (
            counts["acks"] < sent or counts["received"] < counts["acks"] * receivers
        ):
            await asyncio.sleep(0.05)
        expected = counts["acks"] * receivers
        cpu = {
            name: (seconds_now - usage[name][0], vol - usage[name][1], invol - usage[name][2])
            for name, (seconds_now, vol, invol) in stack.usage().items()
            if name in usage
        }
        return {
            "rate_msgs": rate,
            "offered_deliveries": rate * receivers,
            "senders": len(active),
            "refused": counts["refused"],
            "sent": sent,
            "acked": counts["acks"],
            "expected": expected,
            "received": counts["received"],
            "lost": max(0, expected - counts["received"]) + (sent - counts["acks"]) * receivers,
            "deliveries_per_s": counts["received"] / seconds,
            "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99),
            "ack_p50_ms": percentile(ack_latencies, 50),
            "ack_p99_ms": percentile(ack_latencies, 99),
            # Over the step and its stragglers, by process: CPU seconds, context switches.
            "cpu_s": {name: round(used[0], 3) for name, used in cpu.items()},
            "ctx_switches": {name: [used[1], used[2]] for name, used in cpu.items()},
        }

    await step(0, rates[0], 1.0)  # warm-up, not recorded
    steps = []
    for number, rate in enumerate(rates, start=1):
        result = await step(number, rate, duration)
        steps.append(result)
        p50, p99 = result["p50_ms"] or 0, result["p99_ms"] or 0
        who = f" ({len(senders[: senders_for(rate)])} senders)" if many else ""
        cpu = sum(result["cpu_s"].values())
        per = f"  cpu {cpu:5.2f} s" + (
            f" = {cpu / result['received'] * 1e6:5.1f} us/delivery" if result["received"] else ""
        )
        print(
            f"  {stack.name:12} {rate:4} msg/s{who} -> {result['deliveries_per_s']:8.0f}"
            f" deliveries/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  lost {result['lost']}"
            + (f" (refused {result['refused']})" if result["refused"] else "")
            + per,
            flush=True,
        )
        if not all_steps and (result["lost"] or (result["p99_ms"] or 0) > GIVE_UP_P99_MS):
            break  # past p99 100 ms it goes on, for the highest rate with nothing lost
    if on_step is not None:
        on_step(-1, 0)
    for sock in [*sockets, *senders]:
        sock.close()
    return steps


def clean(step: dict) -> bool:
    return not step["lost"] and step["p99_ms"] is not None and step["p99_ms"] <= 100


def lossless(step: dict) -> bool:
    return not step["lost"] and step["p99_ms"] is not None


def best_clean(steps: list[dict]) -> float:
    """Deliveries/s of the last step before the first one that is not clean (the sweep goes
    on past it, but a clean step above a failed one does not count)."""
    return _last_before_failure(steps, clean)


def best_lossless(steps: list[dict]) -> float:
    """The same for "nothing lost", at any latency."""
    return _last_before_failure(steps, lossless)


def _last_before_failure(steps: list[dict], ok: Callable[[dict], bool]) -> float:
    best = 0.0
    for step in steps:
        if not ok(step):
            break
        best = step["deliveries_per_s"]
    return best


async def run(target: str, receivers: int, rates: list[int], duration: float, repeats: int,
              all_steps: bool, many: bool = False, spread: bool = False) -> dict:  # fmt: skip
    runs = []
    for _ in range(repeats):
        # Many senders: the default send limit stays (each sender keeps within it).
        defaults = ("CHAT_SEND_RATE",) if many else ()
        with Stack(target, defaults=defaults, spread=spread) as stack:
            steps = await sweep(stack, receivers, rates, duration, all_steps, many)
        best, most = best_clean(steps), best_lossless(steps)
        runs.append(
            {
                "steps": steps,
                "best_clean_deliveries_per_s": best,
                "best_lossless_deliveries_per_s": most,
            }
        )
        print(
            f"  {target:12} run {len(runs)}: best clean {best:,.0f} deliveries/s, "
            f"most with nothing lost (any latency) {most:,.0f}",
            flush=True,
        )
    bests = [r["best_clean_deliveries_per_s"] for r in runs]
    mosts = [r["best_lossless_deliveries_per_s"] for r in runs]
    return {
        "target": target,
        "about": TARGETS[target].about,
        "receivers": receivers,
        "senders": "rate / 0.8" if many else 1,
        "spread": spread,
        "duration_s": duration,
        "runs": runs,
        "best_clean_deliveries_per_s_median": statistics.median(bests),
        "best_clean_deliveries_per_s_each": bests,
        "best_lossless_deliveries_per_s_median": statistics.median(mosts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(TARGETS), required=True)
    parser.add_argument("--receivers", type=int, default=500)
    parser.add_argument("--rates", default=DEFAULT_RATES, help="messages/s, comma-separated")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per step")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--all-steps", action="store_true", help="run every rate regardless")
    parser.add_argument(
        "--senders", action="store_true", help="many senders: rate / 0.8, each within the limit"
    )
    parser.add_argument(
        "--spread",
        action="store_true",
        help="server process n on core n, the generator unpinned (scaling with processes)",
    )
    args = parser.parse_args()
    pin_generator(spread=args.spread)
    rates = [int(r) for r in args.rates.split(",")]
    result = asyncio.run(
        run(args.target, args.receivers, rates, args.duration, args.repeats, args.all_steps,
            args.senders, args.spread)
    )  # fmt: skip
    scenario = "senders" if args.senders else "fanout"
    if args.spread:
        scenario = f"{scenario}_spread"  # its own rows: not comparable with the pinned runs
    out = save(scenario, result)
    chart_paths = chart.draw()
    print(
        f"{scenario} {args.target}: best clean rate, median of {args.repeats}: "
        f"{result['best_clean_deliveries_per_s_median']:,.0f} deliveries/s "
        f"({args.receivers} receivers) -> {out.name}; chart {', '.join(chart_paths)}"
    )


if __name__ == "__main__":
    main()
