"""Scenario 4, reconnect storm: 5,000 joined clients dropped at once.

    python -m bench.storm --target uvicorn --clients 5000

The clients join the lobby room and follow it while a sender posts 10 messages/s on its own
connection. Then every client connection is cut at once (as when a proxy restarts or a
network blips) while the sender goes on. Each client reconnects as the browser client does
(exponential backoff with jitter: first try after 0.25-0.5 s), joins with its cursor, gets
the replay, and follows again. Reported: the time from the drop until every client is back
and has every message acknowledged up to the drop (its cursor reached it), the slowest
client, and loss: (client, acknowledged message) pairs that never reached the client, counted
from what each client received, not from its cursor.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.common import TARGETS, Stack, in_batches, pin_generator, repeat, save
from bench.wire import ChatSocket, Frame, HandshakeFailed, open_socket

USERS = 500
RATE = 10.0  # sender messages/s


class Client:
    """Follows one room by cursor, reconnecting like ``static/js/socket.js``."""

    def __init__(self, url: str, token: str, room: int) -> None:
        self.url, self.token, self.room = url, token, room
        self.cursor = 0
        self.gaps = 0
        self.sock: ChatSocket | None = None
        self.joined = asyncio.Event()
        self.attempts = 0
        self.seen = bytearray()  # seen[rev] == 1: that message reached this client
        self.goal = 1 << 62  # the rev to reach after the drop
        self.reached = asyncio.Event()
        self.errors: Counter[str] = Counter()  # error frames by code (a join refused, ...)
        self.cut = False  # the bench closed this socket itself (the drop, the end)
        self.lost_sockets = 0  # sockets the server (or the network) closed under it
        self.reconnecting: asyncio.Future[None] | None = None

    def on_frame(self, frame: Frame) -> None:
        kind = frame["type"]
        if kind == "message":
            rev = frame["message"]["rev"]  # nothing is edited here: revs run 1, 2, 3, ...
            if rev >= len(self.seen):
                self.seen.extend(bytes(rev + 256 - len(self.seen)))
            self.seen[rev] = 1
            if rev <= self.cursor:
                return  # a copy of one already applied
            if rev != self.cursor + 1:
                self.gaps += 1
            self.cursor = rev
            if rev >= self.goal:
                self.reached.set()
        elif kind == "error":
            self.errors[str(frame.get("code"))] += 1
            if not self.joined.is_set() and self.sock is not None:
                # A refused join (unavailable, rate_limited): asked again, as the browser does.
                delay = float(frame.get("retry_after") or 1)
                asyncio.get_running_loop().call_later(delay, self.rejoin)
        elif kind == "joined" and frame["room"] == self.room:
            self.cursor = max(self.cursor, frame["cursor"])
            self.joined.set()
            if self.cursor >= self.goal:
                self.reached.set()

    async def connect(self) -> None:
        while True:
            try:
                self.sock = await open_socket(self.url, self.token, self.on_frame)
                break
            except (OSError, TimeoutError, HandshakeFailed):
                base = min(30.0, 0.5 * 2**self.attempts)
                self.attempts += 1
                await asyncio.sleep(base / 2 + random.random() * base / 2)
        self.attempts = 0
        self.cut = False
        self.sock.closed.add_done_callback(self._closed)
        frame: Frame = {"type": "join", "room": self.room}
        if self.cursor:
            frame["cursor"] = self.cursor
        self.sock.send(frame)

    def _closed(self, _: object) -> None:
        """A socket closed by the server (or the network), not the bench: reconnect and
        resume by cursor, as the browser does."""
        if not self.cut:
            self.lost_sockets += 1
            self.reconnecting = asyncio.ensure_future(self.after_drop())

    def rejoin(self) -> None:
        if self.sock is not None and not self.joined.is_set():
            frame: Frame = {"type": "join", "room": self.room}
            if self.cursor:
                frame["cursor"] = self.cursor
            self.sock.send(frame)

    async def after_drop(self) -> None:
        self.joined.clear()
        self.attempts = 1  # the first reconnect waits 0.25-0.5 s, as in the browser
        await asyncio.sleep(0.25 + random.random() * 0.25)
        await self.connect()


def start_profile(stack: Stack, out: Path) -> subprocess.Popen[bytes]:
    """py-spy (the ``bench`` extra) sampling the server process from the drop on, idle
    frames left out, as collapsed stacks (``out``) to summarize with ``profile_summary``."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy: pip install -e '.[bench]'")
    return subprocess.Popen(
        [spy, "record", "--pid", str(stack.workers[0].pid), "--format", "raw",
         "--rate", "200", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def profile_summary(path: Path, top: int = 25) -> str:
    """Share of samples per function (anywhere on the stack: inclusive) and per leaf."""
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [f.split(" (")[0] + " " + f.rsplit("/", 1)[-1].split(":")[0].rstrip(")")
                  for f in stack.split(";")]  # fmt: skip
        for name in set(frames):
            inclusive[name] += n
        leaf[frames[-1]] += n
    rows = [f"{total} samples (busy only)", "inclusive:"]
    rows += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    rows += ["leaf:"]
    rows += [f"  {100 * n / total:5.1f}%  {name}" for name, n in leaf.most_common(top)]
    return "\n".join(rows)


async def measure(stack: Stack, clients: int, profile: Path | None = None) -> dict:
    seeded = stack.seed("users", USERS + 1)
    people = seeded["result"]
    room = seeded["general"]
    fleet = [Client(stack.urls[0], people[n % USERS]["access"], room) for n in range(clients)]

    async def arrive(client: Client) -> None:
        await client.connect()
        await client.joined.wait()

    await in_batches(fleet, arrive)

    acked: list[int] = []
    sender = await open_socket(
        stack.urls[0],
        people[USERS]["access"],
        lambda f: acked.append(f["message"]["seq"]) if f["type"] == "ack" else None,
    )
    sender.send({"type": "join", "room": room})
    stop = asyncio.Event()

    async def send_forever() -> None:
        n = 0
        while not stop.is_set():
            sender.send({"type": "send", "room": room, "body": f"m{n}", "client_id": f"s{n}"})
            n += 1
            await asyncio.sleep(1 / RATE)

    sending = asyncio.create_task(send_forever())
    await asyncio.sleep(3)  # the room is busy; everyone follows it live
    for client in fleet:
        assert client.sock is not None
        client.cut = True
        client.sock.abort()
    spy = start_profile(stack, profile) if profile is not None else None
    dropped = time.monotonic()
    target = acked[-1] if acked else 0
    back: list[float] = []

    async def recover(client: Client) -> None:
        client.goal = target
        if client.cursor >= target:
            client.reached.set()
        await client.after_drop()
        await client.joined.wait()
        await client.reached.wait()
        back.append(time.monotonic() - dropped)

    try:
        await asyncio.wait_for(asyncio.gather(*(recover(c) for c in fleet)), 120)
    except TimeoutError:
        stuck = [c for c in fleet if not c.reached.is_set()]
        unjoined = [c for c in stuck if not c.joined.is_set()]
        closed = [c for c in stuck if c.sock is not None and c.sock.closed.done()]
        errors = sum((c.errors for c in fleet), Counter())
        for log in sorted(stack.tmp.glob("proc-*.log")):
            print(log.name, log.read_text()[-3000:], sep="\n")
        raise SystemExit(
            f"{len(stuck)} clients not caught up after 120 s: {len(unjoined)} not joined, "
            f"{len(closed)} with a closed socket ({[c.sock.closed.result() for c in closed][:5]}),"
            f" errors {dict(errors)}"
        ) from None
    all_back = time.monotonic() - dropped
    if spy is not None and profile is not None:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        spy.wait(30)
        print(profile_summary(profile), flush=True)
    await asyncio.sleep(2)  # live again: a few more messages arrive in order
    stop.set()
    await sending
    await asyncio.sleep(0.5)  # the last acks
    final = acked[-1]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(client.cursor < final for client in fleet):
        await asyncio.sleep(0.1)
    behind = sum(1 for client in fleet if client.cursor < final)
    gaps = sum(client.gaps for client in fleet)
    # The cursor trusts the server's ``joined``; this does not: every message, every client.
    missing = sum(final - sum(client.seen[1 : final + 1]) for client in fleet)
    for client in fleet:
        if client.sock is not None:
            client.cut = True
            client.sock.abort()
    sender.abort()
    return {
        "clients": clients,
        "messages_before_drop": target,
        "all_back_s": all_back,
        "median_back_s": statistics.median(back),
        "lost": missing,
        "holes_seen_in_streams": gaps,
        "clients_behind_at_end": behind,
        "errors": dict(sum((client.errors for client in fleet), Counter())),
        "sockets_lost_after_opening": sum(client.lost_sockets for client in fleet),
    }


async def run(target: str, clients: int, repeats: int, profile: Path | None = None) -> dict:
    return await repeat(
        target,
        repeats,
        lambda stack: measure(stack, clients, profile),
        line=lambda r: (
            f"{clients:,} clients back and caught up in {r['all_back_s']:.1f} s "
            f"(median client {r['median_back_s']:.1f} s), lost {r['lost']}"
        ),
        keys=["all_back_s", "median_back_s"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(TARGETS), default="uvicorn")
    parser.add_argument("--clients", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy the server from the drop until all are back; collapsed stacks to this file",
    )
    args = parser.parse_args()
    pin_generator()
    result = asyncio.run(run(args.target, args.clients, args.repeats, args.profile))
    out = save("storm", result)
    print(
        f"storm {args.target}: {args.clients:,} clients back and caught up in "
        f"{result['median']['all_back_s']:.1f} s, lost {result['lost_total']} "
        f"(median of {args.repeats}) -> {out.name}"
    )


if __name__ == "__main__":
    main()
