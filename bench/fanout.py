"""Fan-out: one room, N receivers, one sender; the offered rate steps up until p99 passes
100 ms or anything is lost. Reports the highest clean rate in deliveries per second.

    python -m bench.fanout --target embedded      # 1 Daphne, SQLite, in-memory layer
    python -m bench.fanout --target redis-core    # 2 Daphnes + Redis, RedisChannelLayer
    python -m bench.fanout --target redis-pubsub  # 2 Daphnes + Redis, RedisPubSubChannelLayer
    python -m bench.fanout --target reference     # bare websockets broadcast (the ceiling)

Servers are pinned to core 0 and the generator to core 1 when the machine has two or more.
Latency is send -> receive on one clock (the generator's), from a timestamp in the body.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import orjson
from websockets.asyncio.client import connect

from ops.procs import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def pinned(cmd: list[str], core: int) -> list[str]:
    if os.cpu_count() and os.cpu_count() >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", str(core), *cmd]
    return cmd


class Servers:
    """Start the target's server processes; ``urls`` are the WebSocket URLs to spread over."""

    def __init__(self, target: str, tmp: Path) -> None:
        self.procs: list[subprocess.Popen] = []
        self.tmp = tmp
        self.http = None
        if target == "reference":
            port = free_port()
            self.spawn(
                [sys.executable, str(ROOT / "bench/reference_server.py"), "--port", str(port)], {}
            )
            self.urls = [f"ws://127.0.0.1:{port}/ws/chat/"]
            return
        env = {
            "SECRET_KEY": secrets.token_urlsafe(40),
            "SQLITE_PATH": str(tmp / "db.sqlite3"),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DEBUG": "false",
            "CHAT_GUEST_RATE": "1000000/minute",
            "CHAT_SEND_RATE": "1000000",
            "CHAT_MAX_CONNECTIONS_PER_USER": "100000",
            "LOG_LEVEL": "WARNING",
        }
        workers = 1
        server_cmd = [
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            "{port}",
            "chatsite.asgi:application",
        ]
        if target == "embedded-uvicorn":
            server_cmd = [
                "-m",
                "uvicorn",
                "--host",
                "127.0.0.1",
                "--port",
                "{port}",
                "--ws",
                "websockets",
                "--loop",
                "uvloop",
                "--no-access-log",
                "--log-level",
                "warning",
                "chatsite.asgi:application",
            ]
        if target.startswith("redis"):
            redis_port = free_port()
            self.spawn(
                ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
                {},
                core=1,
            )
            wait_for_port(redis_port)
            env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
            env["CHANNEL_LAYER"] = "pubsub" if target == "redis-pubsub" else "core"
            workers = 2
        clean = {k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE", "DATABASE_URL"}}
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"],
            cwd=ROOT,
            env={**clean, **env},
            check=True,
        )
        ports = [free_port() for _ in range(workers)]
        for port in ports:
            cmd = [part.replace("{port}", str(port)) for part in server_cmd]
            self.spawn([sys.executable, *cmd], {**clean, **env})
        self.urls = [f"ws://127.0.0.1:{port}/ws/chat/" for port in ports]
        self.http = f"http://127.0.0.1:{ports[0]}"

    def spawn(self, cmd: list[str], env: dict[str, str], core: int = 0) -> None:
        log = (self.tmp / f"proc-{len(self.procs)}.log").open("ab")
        process = subprocess.Popen(
            pinned(cmd, core), cwd=ROOT, env=env or None, stdout=log, stderr=subprocess.STDOUT
        )
        self.procs.append(process)
        if "--port" in cmd:
            wait_for_port(int(cmd[cmd.index("--port") + 1]))
        elif "-p" in cmd:
            wait_for_port(int(cmd[cmd.index("-p") + 1]))

    def stop(self) -> None:
        for process in self.procs:
            process.send_signal(signal.SIGTERM)
        for process in self.procs:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def chat_socket(url: str, token: str):  # type: ignore[no-untyped-def]
    """A chat.v1 socket for measuring: no compression, unbounded receive queue, no pings."""
    return connect(
        url,
        subprotocols=["chat.v1", f"bearer.{token}"],
        origin="http://127.0.0.1",
        compression=None,
        max_queue=None,
        ping_interval=None,
    )


def post_json(url: str) -> dict:
    request = urllib.request.Request(url, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


async def run(
    target: str, receivers: int, rates: list[int], duration: float, all_steps: bool
) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="chat-bench-"))
    servers = Servers(target, tmp)
    try:
        return await measure(servers, target, receivers, rates, duration, all_steps)
    finally:
        servers.stop()
        shutil.rmtree(tmp, ignore_errors=True)


async def measure(
    servers: Servers,
    target: str,
    receivers: int,
    rates: list[int],
    duration: float,
    all_steps: bool,
) -> dict:
    if servers.http:
        # One identity for all sockets keeps setup quick; presence then counts one user.
        token = post_json(f"{servers.http}/api/auth/guest/")["access"]
        sender_token = post_json(f"{servers.http}/api/auth/guest/")["access"]
        room = 1
    else:
        token = sender_token = "none"
        room = 1
    latencies: list[float] = []
    received = 0
    current_step = {"id": 0}

    async def receiver(url: str, ready: asyncio.Event, stop: asyncio.Event) -> None:
        nonlocal received
        async with chat_socket(url, token) as ws:
            await ws.send(orjson.dumps({"type": "join", "room": room}).decode())
            async for raw in ws:
                frame = orjson.loads(raw)
                if frame["type"] == "joined":
                    ready.set()
                elif frame["type"] == "message":
                    step, sent_ns = frame["message"]["body"].split(":")
                    if int(step) == current_step["id"]:
                        latencies.append((time.monotonic_ns() - int(sent_ns)) / 1e6)
                        received += 1
                if stop.is_set():
                    return

    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in range(receivers)]
    tasks = [
        asyncio.create_task(receiver(servers.urls[n % len(servers.urls)], readies[n], stop))
        for n in range(receivers)
    ]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
    steps = []
    async with chat_socket(servers.urls[0], sender_token) as sender:
        await sender.send(orjson.dumps({"type": "join", "room": room}).decode())
        while orjson.loads(await sender.recv())["type"] != "joined":
            pass
        acks = 0

        async def read_acks() -> None:
            nonlocal acks
            async for raw in sender:
                if orjson.loads(raw)["type"] == "ack":
                    acks += 1

        ack_task = asyncio.create_task(read_acks())
        for n, rate in enumerate(rates, start=1):
            current_step["id"] = n
            latencies.clear()
            received, acks = 0, 0
            interval = 1 / rate
            start = time.monotonic()
            sent = 0
            while (elapsed := time.monotonic() - start) < duration:
                due = int(elapsed / interval) + 1
                while sent < due:
                    body = f"{n}:{time.monotonic_ns()}"
                    await sender.send(
                        orjson.dumps(
                            {
                                "type": "send",
                                "room": room,
                                "body": body,
                                "client_id": f"{n}-{sent}-{secrets.token_hex(4)}",
                            }
                        ).decode()
                    )
                    sent += 1
                await asyncio.sleep(min(interval, 0.01))
            await asyncio.sleep(2.0)  # stragglers
            expected = acks * receivers
            ordered = sorted(latencies)
            p50 = statistics.median(ordered) if ordered else None
            p99 = ordered[int(len(ordered) * 0.99) - 1] if ordered else None
            step = {
                "rate_msgs": rate,
                "offered_deliveries": rate * receivers,
                "sent": sent,
                "acked": acks,
                "expected": expected,
                "received": received,
                "lost": max(0, expected - received),
                "deliveries_per_s": received / duration,
                "p50_ms": p50,
                "p99_ms": p99,
            }
            steps.append(step)
            p50_ms, p99_ms, per_s = p50 or 0, p99 or 0, step["deliveries_per_s"]
            print(
                f"  {target:13} {rate:5} msg/s -> {per_s:9.0f} deliveries/s"
                f"  p50 {p50_ms:7.1f} ms  p99 {p99_ms:7.1f} ms  lost {step['lost']}",
                flush=True,
            )
            if not all_steps and (step["lost"] or p99 is None or p99 > 100 or acks < sent):
                break
        ack_task.cancel()
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    clean = [
        s
        for s in steps
        if not s["lost"]
        and s["p99_ms"] is not None
        and s["p99_ms"] <= 100
        and s["acked"] == s["sent"]
    ]
    best = max((s["deliveries_per_s"] for s in clean), default=0)
    return {
        "target": target,
        "receivers": receivers,
        "cores": os.cpu_count(),
        "steps": steps,
        "best_clean_deliveries_per_s": best,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--target",
        choices=["reference", "embedded", "embedded-uvicorn", "redis-core", "redis-pubsub"],
        required=True,
    )
    parser.add_argument("--receivers", type=int, default=500)
    parser.add_argument("--rates", default="2,5,10,20,40,60,80,120,160")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument(
        "--all-steps", action="store_true", help="run every rate, even past p99 or loss"
    )
    args = parser.parse_args()
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})
    result = asyncio.run(
        run(
            args.target,
            args.receivers,
            [int(r) for r in args.rates.split(",")],
            args.duration,
            args.all_steps,
        )
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"fanout-{args.target}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(
        f"{args.target}: best clean rate {result['best_clean_deliveries_per_s']:.0f} deliveries/s "
        f"({args.receivers} receivers, {result['cores']} cores) -> {out.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
