"""Scenario 6, send -> ack with storage: 200 sends/s, on SQLite and on PostgreSQL.

    python -m bench.ack --target uvicorn       # SQLite (the embedded default's database)
    python -m bench.ack --target postgresql    # PostgreSQL through Django's pool

Twenty people in one room each send 10 messages/s (the per-user limit is raised for the
run), evenly spread. With ``--direct`` each writes instead in a direct room of their own to
an owner who is never online: every message is then a notification owed (issue 12), a push
task enqueued in the send's transaction and run by the task worker — the send path with
offline recipients. An ack means the message is committed. Reported: p50 and p99 of the
time from writing the ``send`` frame to reading its ``ack``, and any send never acked.

``--worker`` (with ``--direct``) says where the tasks run:

- ``process`` (default): ``manage.py chat_worker`` as its own process, as production runs it
  (``ops/stack.py``), on the server's core under ``nice 10``. Not on the generator's core:
  the generator's clock is the measurement, and a worker beside it would delay reading acks,
  not sending them. Niced, because on a machine with one core to serve, the worker is the
  one that should wait (production on a small host should do the same); on a bigger host
  it gets a core of its own.
- ``thread``: the embedded default's worker thread in the server process (``make run``).
- ``none``: nothing runs the tasks; the send path's own cost of owing them.

``CHAT_PUSH_DELAY`` is lowered to 1 s (``--push-delay``) so the worker runs tasks through
most of the run, not only its second half. ``--profile`` records the server (and the worker
process) with py-spy into ``bench/results/`` as speedscope JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

from bench.common import (
    RESULTS,
    TARGETS,
    Stack,
    cpu_seconds,
    ms,
    percentile,
    pin_generator,
    repeat,
    save,
)
from bench.wire import Frame, join, open_socket

SENDERS = 20
STRAGGLERS = 3.0


WORKER_NICE = 10
PY_SPY = str(Path(sys.executable).with_name("py-spy"))  # the bench extra's, in the venv


def start_worker(stack: Stack) -> int:
    """``manage.py chat_worker`` as its own process on the server's core, niced; its pid."""
    process = stack._spawn(
        ["nice", "-n", str(WORKER_NICE), sys.executable, "manage.py", "chat_worker",
         "--worker-id", "bench-worker"]
    )  # fmt: skip
    return process.pid


def profile(pid: int, name: str, seconds: float) -> subprocess.Popen:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"profile-{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    return subprocess.Popen(
        [PY_SPY, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "200",
         "--format", "speedscope", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def measure(stack: Stack, rate: float, duration: float, direct: bool = False,
                  worker: str = "none", profiling: bool = False) -> dict:  # fmt: skip
    worker_pid = start_worker(stack) if direct and worker == "process" else None
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
    profilers = []
    if profiling:
        tag = f"ack{'-direct-' + worker if direct else ''}-{stack.name}"
        profilers.append(profile(stack.workers[0].pid, f"{tag}-server", duration))
        if worker_pid is not None:
            profilers.append(profile(worker_pid, f"{tag}-worker", duration))
    worker_cpu = cpu_seconds(worker_pid) if worker_pid else 0.0
    server_cpu = cpu_seconds(stack.workers[0].pid)
    began = time.monotonic()
    await asyncio.gather(*(talk(n, *conn) for n, conn in enumerate(sockets)))
    elapsed = time.monotonic() - began
    server_cpu = cpu_seconds(stack.workers[0].pid) - server_cpu
    worker_cpu = cpu_seconds(worker_pid) - worker_cpu if worker_pid else 0.0
    for profiler in profilers:
        profiler.wait()
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
        # CPU time of the server process per acked send (less moved by a busy machine than latency)
        "server_cpu_ms_per_send": server_cpu * 1000 / max(1, len(acked)),
        "worker": worker if direct else None,
        "worker_cpu_share": worker_cpu / elapsed if worker_pid else None,
    }


async def run(target: str, rate: float, duration: float, repeats: int, direct: bool,
              worker: str = "process", push_delay: float = 1.0,
              profiling: bool = False) -> dict:  # fmt: skip
    env = {}  # the plain scenario as make bench runs it
    if direct:
        env["CHAT_TASKS_IN_PROCESS"] = "true" if worker == "thread" else "false"
        env["CHAT_PUSH_DELAY"] = str(push_delay)
    result = await repeat(
        target,
        repeats,
        lambda stack: measure(stack, rate, duration, direct, worker, profiling),
        line=lambda r: (
            f"{r['sends_per_s']:5.0f} sends/s: ack p50 {ms(r['ack_p50_ms'])} "
            f"p99 {ms(r['ack_p99_ms'])}, unacked {r['unacked']}, server CPU "
            f"{r['server_cpu_ms_per_send']:.2f} ms/send"
        ),
        keys=["ack_p50_ms", "ack_p99_ms", "sends_per_s", "server_cpu_ms_per_send"],
        env=env,
    )
    return {**result, "unacked_total": sum(r["unacked"] for r in result["runs"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(TARGETS), default="uvicorn")
    parser.add_argument("--rate", type=float, default=200.0, help="sends/s in all")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--direct", action="store_true", help="to offline owners (pushes owed)")
    parser.add_argument("--worker", choices=["process", "thread", "none"], default="process",
                        help="with --direct: where the tasks run (see above)")  # fmt: skip
    parser.add_argument("--push-delay", type=float, default=1.0, help="CHAT_PUSH_DELAY, s")
    parser.add_argument("--profile", action="store_true", help="py-spy the server and worker")
    args = parser.parse_args()
    pin_generator()
    result = asyncio.run(
        run(args.target, args.rate, args.duration, args.repeats, args.direct, args.worker,
            args.push_delay, args.profile)
    )  # fmt: skip
    out = save(f"ack-direct-{args.worker}" if args.direct else "ack", result)
    median = result["median"]
    print(
        f"ack{' direct' if args.direct else ''} {args.target}: {args.rate:.0f} sends/s, "
        f"ack p50/p99 {ms(median['ack_p50_ms'])}/"
        f"{ms(median['ack_p99_ms'])}, unacked {result['unacked_total']} "
        f"(medians of {args.repeats}) -> {out.name}"
    )


if __name__ == "__main__":
    main()
