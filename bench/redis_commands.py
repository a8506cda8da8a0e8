"""Redis commands per delivered message, across two server processes (deterministic).

    python -m bench.redis_commands                     # both layers, 200 messages each
    python -m bench.redis_commands --target redis-pubsub --messages 500

Two server processes share one Redis (the ``redis`` / ``redis-pubsub`` targets); receivers
and senders are joined to one room, spread over both processes. After a warm-up, Redis'
``MONITOR`` records while ``--messages`` sends are made (each acked, each delivered to every
receiver): the commands per message, by name, split into those a client sent (each one a
request; a pipeline sends several in one round trip) and those Lua scripts ran inside Redis.

Heartbeats are moved out of the window (``CHAT_PRESENCE_TTL`` 600 s), so the figures are the
send path's: the send limit's check, the broadcast, each process's receive.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time

import redis

from bench.common import TARGETS, Stack, pin_generator, save
from bench.wire import Frame, join, open_socket

RECEIVERS = 20
SENDERS = 10


class Monitor:
    """Redis' ``MONITOR`` over a window (on a thread): every command Redis ran, and whether a
    client sent it or a Lua script ran it."""

    STOP = "bench-monitor-stop"

    def __init__(self, port: int) -> None:
        self.client = redis.Redis(port=port)
        self.sent: dict[str, int] = {}
        self.scripted: dict[str, int] = {}
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise SystemExit("MONITOR did not start")

    def _listen(self) -> None:
        with self.client.monitor() as monitor:
            self.ready.set()
            for entry in monitor.listen():
                command = entry["command"]
                if command == f"ECHO {self.STOP}":
                    return
                name = command.split(" ", 1)[0].lower()
                into = self.scripted if entry.get("client_type") == "lua" else self.sent
                into[name] = into.get(name, 0) + 1

    def stop(self) -> tuple[dict[str, int], dict[str, int]]:
        """(commands clients sent, commands scripts ran), by name."""
        self.client.echo(self.STOP)
        self.thread.join(30)
        return self.sent, self.scripted


async def measure(stack: Stack, messages: int) -> dict:
    port = int(stack.env["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
    seeded = stack.seed("users", RECEIVERS + SENDERS)
    tokens = [user["access"] for user in seeded["result"]]
    room = seeded["general"]
    counts = {"acks": 0, "received": 0}

    def on_receive(frame: Frame) -> None:
        if frame["type"] == "message":
            counts["received"] += 1

    def on_sender(frame: Frame) -> None:
        if frame["type"] == "ack":
            counts["acks"] += 1

    receivers = [
        await open_socket(stack.urls[n % len(stack.urls)], tokens[n], on_receive)
        for n in range(RECEIVERS)
    ]
    senders = [
        await open_socket(stack.urls[n % len(stack.urls)], tokens[RECEIVERS + n], on_sender)
        for n in range(SENDERS)
    ]
    for sock in [*receivers, *senders]:
        await join(sock, room)

    async def burst(count: int, tag: str) -> None:
        counts.update(acks=0, received=0)
        for n in range(count):
            senders[n % SENDERS].send(
                {"type": "send", "room": room, "body": f"{tag} {n}", "client_id": f"{tag}-{n}"}
            )
            await asyncio.sleep(0.005)  # ~200/s: the path as a room sees it, not a pile-up
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
            counts["acks"] < count or counts["received"] < count * RECEIVERS
        ):
            await asyncio.sleep(0.02)
        if counts["acks"] < count or counts["received"] < count * RECEIVERS:
            raise SystemExit(f"{tag}: {counts} of {count} messages to {RECEIVERS} receivers")

    await burst(20, "warm")
    await asyncio.sleep(1.0)  # presence broadcasts of the joins are done
    monitor = Monitor(port)
    started = time.monotonic()
    await burst(messages, "measured")
    seconds = time.monotonic() - started
    sent, scripted = monitor.stop()
    for sock in [*receivers, *senders]:
        sock.close()
    return {
        "messages": messages,
        "receivers": RECEIVERS,
        "processes": len(stack.urls),
        "seconds": seconds,
        "sent": dict(sorted(sent.items(), key=lambda kv: -kv[1])),
        "scripted": dict(sorted(scripted.items(), key=lambda kv: -kv[1])),
        "sent_per_message": sum(sent.values()) / messages,
        "scripted_per_message": sum(scripted.values()) / messages,
    }


async def run(target: str, messages: int) -> dict:
    with Stack(target, CHAT_PRESENCE_TTL="600") as stack:
        result = await measure(stack, messages)
    return {"target": target, "about": TARGETS[target].about, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=["redis", "redis-pubsub"], action="append")
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    pin_generator()
    for target in args.target or ["redis", "redis-pubsub"]:
        result = asyncio.run(run(target, args.messages))
        out = save("redis_commands", result)
        n = args.messages
        sent = ", ".join(f"{k} {v / n:.2f}" for k, v in result["sent"].items())
        scripted = ", ".join(f"{k} {v / n:.2f}" for k, v in result["scripted"].items())
        print(
            f"redis_commands {target} ({result['processes']} processes, {n} messages): "
            f"{result['sent_per_message']:.2f} commands sent per message [{sent}], "
            f"+ {result['scripted_per_message']:.2f} run by scripts [{scripted}] -> {out.name}",
            flush=True,
        )


if __name__ == "__main__":
    main()
