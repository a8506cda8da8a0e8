"""Scenario (v1.1), a burst of reactions: one room, N receivers, R reactors; at each rate, a
step of plain messages and then a step of reactions, on the same server and sockets.

    python -m bench.reactions --target uvicorn
    python -m bench.reactions --target uvicorn --receivers 50 --rates 10,20 --duration 2

A reaction takes the room's next number and the whole message is broadcast (PROTOCOL.md), so
a burst of them should cost what a burst of messages does: one broadcast per change, one
frame per receiver, the same fan-out. Each reactor toggles 👍 on a message of its own (on,
off, on, …), so every ``react`` is a change; the reactors' own sockets map each broadcast's
``rev`` to the moment its ``react`` was written (one reactor's frames are handled in order).

Per step: deliveries/s, receive latency p50/p99 (on the generator's one clock), loss per
(receiver, broadcast), and **frames per change per receiver** (1.00 is one broadcast each,
no more and no fewer); and the size of one frame of each kind.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson

from bench.common import TARGETS, Stack, ms, percentile, pin_generator, save
from bench.wire import ChatSocket, Frame, join, open_socket

DEFAULT_RATES = "20,40,80,120,160"  # changes/s; x receivers
STRAGGLERS = 2.0  # seconds to wait for late deliveries after a step
EMOJI = "👍"
MODES = ("messages", "reactions")


class Burst:
    """The sockets and the counts of the step under way."""

    def __init__(self, room: int, receivers: int) -> None:
        self.room = room
        self.receivers = receivers
        self.mode = "messages"
        self.step = 0
        self.latencies: list[float] = []
        self.received = 0
        self.applied = 0  # messages acknowledged, or reactions seen broadcast by their reactor
        self.targets: dict[int, int] = {}  # target message id -> reactor index
        self.pending: list[deque[int]] = []  # per reactor: send times of its reactions in flight
        self.sent_at: dict[int, int] = {}  # rev of a reaction's broadcast -> its send time
        self.arrivals: list[tuple[int, int]] = []  # (rev, receive time) at the receivers
        self.sizes: dict[str, int] = {}  # one frame's size of each kind, bytes

    def on_receive(self, frame: Frame) -> None:
        if frame["type"] != "message":
            return
        message = frame["message"]
        if self.mode == "messages":
            step, _, sent_ns = message["body"].partition(":")
            if sent_ns and int(step) == self.step:
                self.latencies.append((time.monotonic_ns() - int(sent_ns)) / 1e6)
                self.received += 1
                self.sizes.setdefault("messages", len(orjson.dumps(frame)))
        elif message["id"] in self.targets:
            self.arrivals.append((message["rev"], time.monotonic_ns()))
            self.sizes.setdefault("reactions", len(orjson.dumps(frame)))

    def reactor(self, index: int) -> Callable[[Frame], None]:
        def on_frame(frame: Frame) -> None:
            if frame["type"] == "ack":
                # only this step's (a late ack of the step before must not count here)
                if self.mode == "messages" and frame["client_id"].startswith(f"{self.step}-"):
                    self.applied += 1
            elif frame["type"] == "message" and self.targets.get(frame["message"]["id"]) == index:
                if self.pending[index]:
                    self.sent_at[frame["message"]["rev"]] = self.pending[index].popleft()
                    self.applied += 1
            elif frame["type"] == "error":
                raise RuntimeError(f"reactor {index}: {frame}")

        return on_frame

    def resolve(self, step_started_ns: int) -> None:
        """Latencies of the reactions step, now that every broadcast's send time is known."""
        for rev, received_ns in self.arrivals:
            sent_ns = self.sent_at.get(rev)
            if sent_ns is not None and sent_ns >= step_started_ns:
                self.latencies.append((received_ns - sent_ns) / 1e6)
                self.received += 1


async def burst(stack: Stack, receivers: int, reactors: int, rates: list[int],
                duration: float) -> list[dict[str, Any]]:  # fmt: skip
    seeded = stack.seed("users", reactors + 1)
    token, *reactor_tokens = (user["access"] for user in seeded["result"])
    state = Burst(seeded["general"], receivers)
    room = state.room
    sockets: list[ChatSocket] = []
    for n in range(receivers):
        sockets.append(await open_socket(stack.urls[n % len(stack.urls)], token, state.on_receive))
    await asyncio.gather(*(join(sock, room) for sock in sockets))
    senders = []
    for index, reactor_token in enumerate(reactor_tokens):
        sock = await open_socket(stack.urls[0], reactor_token, state.reactor(index))
        await join(sock, room)
        acked = sock.wait_for(lambda f: f["type"] == "ack")
        sock.send({"type": "send", "room": room, "body": "react to me", "client_id": "target"})
        state.targets[(await acked)["message"]["id"]] = index
        state.pending.append(deque())
        senders.append(sock)
    toggles = [0] * reactors

    def send_one(mode: str, number: int, sent: int) -> None:
        index = sent % reactors
        sock = senders[index]
        now = time.monotonic_ns()
        if mode == "messages":
            sock.send({"type": "send", "room": room, "body": f"{number}:{now}",
                       "client_id": f"{number}-{sent}"})  # fmt: skip
            return
        message = next(m for m, i in state.targets.items() if i == index)
        state.pending[index].append(now)
        sock.send({"type": "react", "message": message, "emoji": EMOJI,
                   "on": toggles[index] % 2 == 0})  # fmt: skip
        toggles[index] += 1

    async def step(mode: str, number: int, rate: int, seconds: float) -> dict[str, Any]:
        state.mode, state.step = mode, number
        state.latencies.clear()
        state.arrivals.clear()
        state.received = state.applied = 0
        started_ns = time.monotonic_ns()
        interval, start, sent = 1 / rate, time.monotonic(), 0
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed / interval) + 1
            while sent < due:
                send_one(mode, number, sent)
                sent += 1
            await asyncio.sleep(min(interval, 0.005))
        deadline = time.monotonic() + STRAGGLERS
        while time.monotonic() < deadline and (
            state.applied < sent
            or (mode == "messages" and state.received < state.applied * receivers)
            or (mode == "reactions" and len(state.arrivals) < state.applied * receivers)
        ):
            await asyncio.sleep(0.05)
        if mode == "reactions":
            state.resolve(started_ns)
            frames = len(state.arrivals)
        else:
            frames = state.received
        expected = state.applied * receivers
        return {
            "mode": mode,
            "rate": rate,
            "sent": sent,
            "applied": state.applied,
            "expected": expected,
            "received": state.received,
            "lost": max(0, expected - state.received) + max(0, sent - state.applied) * receivers,
            "frames_per_change_per_receiver": frames / expected if expected else None,
            "deliveries_per_s": state.received / seconds,
            "p50_ms": percentile(state.latencies, 50),
            "p99_ms": percentile(state.latencies, 99),
        }

    for mode in MODES:
        await step(mode, 0, rates[0], 1.0)  # warm-up, not recorded
    steps = []
    for number, rate in enumerate(rates, start=1):
        for mode in MODES:
            result = await step(mode, number, rate, duration)
            steps.append(result)
            print(
                f"  {stack.name:12} {mode:9} {rate:4}/s -> {result['deliveries_per_s']:8.0f} "
                f"deliveries/s  p50 {ms(result['p50_ms']):>9}  p99 {ms(result['p99_ms']):>9}  "
                f"lost {result['lost']}  frames/change {result['frames_per_change_per_receiver']}",
                flush=True,
            )
    for sock in [*sockets, *senders]:
        sock.close()
    for step_result in steps:
        step_result["frame_bytes"] = state.sizes.get(step_result["mode"])
    return steps


def clean(step: dict[str, Any]) -> bool:
    return not step["lost"] and step["p99_ms"] is not None and step["p99_ms"] <= 100


def best_clean(steps: list[dict[str, Any]], mode: str) -> float:
    """Deliveries/s of ``mode``'s last clean step before its first one that is not."""
    best = 0.0
    for step in (s for s in steps if s["mode"] == mode):
        if not clean(step):
            break
        best = step["deliveries_per_s"]
    return best


async def run(target: str, receivers: int, reactors: int, rates: list[int], duration: float,
              repeats: int) -> dict[str, Any]:  # fmt: skip
    runs = []
    for _ in range(repeats):
        with Stack(target) as stack:
            steps = await burst(stack, receivers, reactors, rates, duration)
        best = {mode: best_clean(steps, mode) for mode in MODES}
        runs.append({"steps": steps, "best_clean": best})
        print(f"  {target:12} run {len(runs)}: best clean deliveries/s {best}", flush=True)
    return {
        "target": target,
        "about": TARGETS[target].about,
        "receivers": receivers,
        "reactors": reactors,
        "duration_s": duration,
        "runs": runs,
        "median": {
            f"{mode}_best_clean": statistics.median(r["best_clean"][mode] for r in runs)
            for mode in MODES
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(TARGETS), default="uvicorn")
    parser.add_argument("--receivers", type=int, default=500)
    parser.add_argument("--reactors", type=int, default=20)
    parser.add_argument("--rates", default=DEFAULT_RATES, help="changes/s, comma-separated")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per step")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    pin_generator()
    rates = [int(r) for r in args.rates.split(",")]
    result = asyncio.run(
        run(args.target, args.receivers, args.reactors, rates, args.duration, args.repeats)
    )
    out = save("reactions", result)
    print(f"reactions {args.target}: best clean deliveries/s {result['median']} -> {out.name}")


if __name__ == "__main__":
    main()
