"""Scenario 7, images: processing a 12-megapixel JPEG, and uploads beside a busy room.

    python -m bench.images --target uvicorn

Three measurements on one fresh server (and its environment):

- **in process**: ``images.processing`` + storage of one 12-megapixel JPEG (decode, orient,
  scale to 2560 px, WebP, 400 px thumbnail, both files written), each sample in a fresh
  Python process: its time, and its peak RSS above the process's RSS before (Pillow
  allocates in C, where ``tracemalloc`` sees nothing, so the kernel's high-water mark).
- **over HTTP**: the same JPEG uploaded to ``POST /api/rooms/<id>/attachments/`` one at a
  time: time to the 201 (stored and thumbnailed), and the server process's peak RSS.
- **beside a busy room**: 20 senders (``--rate`` sends/s in all) and ``--listeners`` more
  sockets in one room; the room's ack p50/p99 (send -> own ack) and fan-out p50/p99 (send ->
  each member's ``message``, on the generator's one clock) and deliveries lost, quiet and
  while ``--concurrent`` uploads of that JPEG run at once (each upload starts as the room's
  load starts). The server (and its image workers, which inherit its affinity) is pinned to
  core 0 like every bench; the generator to core 1. Processing runs in ``images.pool``: a
  niced worker process per server process (``CHAT_IMAGE_WORKERS``), uploads beyond it wait.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import orjson

from bench.common import (
    ROOT,
    TARGETS,
    Stack,
    cpu_seconds,
    ms,
    percentile,
    pin_generator,
    save,
)
from bench.wire import Frame, join, open_socket

SENDERS = 20
STRAGGLERS = 3.0


def photo(megapixels: float) -> bytes:
    """A photo-like JPEG (smooth gradients with sensor-like noise), 4:3, quality 90."""
    from PIL import Image

    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(width * 3 / 4)
    ramp = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 12)
    red = Image.blend(ramp, noise, 0.25)
    blue = Image.blend(ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT), noise, 0.25)
    img = Image.merge("RGB", (red, Image.blend(ramp.rotate(90, expand=False), noise, 0.25), blue))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90)
    return out.getvalue()


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def burst(path: str) -> None:
    """In a fresh process (``--burst``): upload ``path`` once per token on stdin, all at
    once; print each upload's seconds to its 201."""
    request = orjson.loads(sys.stdin.buffer.readline())
    data = Path(path).read_bytes()
    with ThreadPoolExecutor(max_workers=len(request["tokens"])) as threads:
        print("ready", flush=True)
        sys.stdin.buffer.readline()  # "go"
        times = list(
            threads.map(
                lambda token: upload(request["base"], token, request["room"], data),
                request["tokens"],
            )
        )
    print(orjson.dumps(times).decode())


def one(path: str) -> None:
    """In a fresh process (``--one``): process and store ``path``; print time and peak."""
    import django

    django.setup()
    import PIL.WebPImagePlugin  # noqa: F401  (loaded before the baseline, as in a server)

    from images.processing import image_process
    from images.storage import image_save

    before = rss_kb()
    started = time.perf_counter()
    processed = image_process(source=path, max_pixels=40_000_000)
    image_save(processed=processed, prefix="bench")
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    print(orjson.dumps({"seconds": seconds, "peak_mb": (peak - before) / 1024}).decode())


def in_process(stack: Stack, path: Path, samples: int) -> dict:
    runs = []
    for _ in range(samples):
        out = subprocess.run(
            [sys.executable, "-m", "bench.images", "--one", str(path)],
            cwd=ROOT, env=stack.env, check=True, capture_output=True,
        )  # fmt: skip
        runs.append(orjson.loads(out.stdout.splitlines()[-1]))
    return {
        "seconds_median": statistics.median(r["seconds"] for r in runs),
        "peak_mb_median": statistics.median(r["peak_mb"] for r in runs),
        "peak_mb_max": max(r["peak_mb"] for r in runs),
    }


def upload(base: str, token: str, room: int, data: bytes) -> float:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    started = time.perf_counter()
    conn.request(
        "POST",
        f"/api/rooms/{room}/attachments/",
        body=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    response = conn.getresponse()
    reply = response.read()
    conn.close()
    if response.status != 201:
        raise RuntimeError(f"upload: {response.status} {reply[:200]!r}")
    return time.perf_counter() - started


def server_peak_mb(stack: Stack) -> float:
    pid = stack.workers[0].pid if stack.workers else stack.procs[-1].pid
    return peak_mb(pid)


def peak_mb(pid: int) -> float:
    """A process's peak resident memory (the kernel's high-water mark), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(stack: Stack) -> list[int]:
    """The server's child processes (its image workers)."""
    server = stack.workers[0].pid if stack.workers else stack.procs[-1].pid
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == server:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def workers_peak_mb(stack: Stack) -> float:
    """The largest peak among the server's child processes (its image workers)."""
    return max([0.0, *(peak_mb(pid) for pid in children(stack))])


def cpu_now(stack: Stack) -> tuple[float, float]:
    """CPU seconds so far: the server process, and its image workers (those alive)."""
    server = stack.workers[0].pid if stack.workers else stack.procs[-1].pid
    return cpu_seconds(server), sum(cpu_seconds(pid) for pid in children(stack))


async def measure(stack: Stack, data: bytes, args: argparse.Namespace) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".jpg") as tmp:
        tmp.write(data)
        tmp.flush()
        local = in_process(stack, Path(tmp.name), args.samples)
    seeded = stack.seed("users", max(args.concurrent, SENDERS))
    room = seeded["general"]
    people = seeded["result"]
    before_mb = server_peak_mb(stack)
    times = [
        await asyncio.to_thread(upload, stack.http, people[0]["access"], room, data)
        for _ in range(args.samples)
    ]
    http_result = {
        "seconds_median": statistics.median(times),
        "server_peak_mb_before": before_mb,
        "server_peak_mb_after": server_peak_mb(stack),
    }
    quiet = await room_measure(stack, people, room, args)
    tokens = [person["access"] for person in people[: args.concurrent]]
    with tempfile.NamedTemporaryFile(suffix=".jpg") as tmp:
        tmp.write(data)
        tmp.flush()
        # The uploading client: a process of its own (not the generator's GIL), started and
        # ready before the room's load begins, so its start-up is not measured either.
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.images", "--burst", tmp.name,
            cwd=ROOT, env=stack.env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(orjson.dumps({"base": stack.http, "room": room, "tokens": tokens}))
        proc.stdin.write(b"\n")
        await proc.stdin.drain()
        assert (await proc.stdout.readline()).strip() == b"ready"

        async def uploads() -> None:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()

        busy = await room_measure(stack, people, room, args, started=uploads)
        out, _ = await proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"upload burst failed ({proc.returncode})")
    upload_times = orjson.loads(out.splitlines()[-1])
    keys = (
        "ack_p50_ms", "ack_p99_ms", "unacked", "fanout_p50_ms", "fanout_p99_ms", "lost",
        "server_cpu_s", "workers_cpu_s",
    )  # fmt: skip
    return {
        "megapixels": args.megapixels,
        "jpeg_bytes": len(data),
        "in_process": local,
        "http": http_result,
        "concurrent": args.concurrent,
        "listeners": args.listeners,
        "concurrent_uploads_s_max": max(upload_times),
        "room_quiet": {k: quiet[k] for k in keys},
        "room_with_uploads": {k: busy[k] for k in keys},
        "server_peak_mb_end": server_peak_mb(stack),
        "image_worker_peak_mb": workers_peak_mb(stack),
    }


async def room_measure(
    stack: Stack,
    people: list[dict],
    room: int,
    args: argparse.Namespace,
    started: Callable[[], Awaitable[None]] | None = None,
) -> dict:
    """A busy room for ``args.duration`` s: 20 senders at ``args.rate`` sends/s in all, and
    ``args.listeners`` more members (one user's sockets); ack and fan-out latencies."""
    senders = people[:SENDERS]
    sent_at: dict[str, int] = {}
    acked: dict[str, float] = {}
    fanout: list[float] = []

    def on_frame(frame: Frame) -> None:
        now = time.monotonic_ns()
        if frame["type"] == "ack":
            acked[frame["client_id"]] = (now - sent_at[frame["client_id"]]) / 1e6
        elif frame["type"] == "message":
            started = sent_at.get(frame["message"]["client_id"])
            if started is not None:
                fanout.append((now - started) / 1e6)

    sockets = []
    for person in senders:
        sock = await open_socket(stack.urls[0], person["access"], on_frame)
        await join(sock, room)
        sockets.append((sock, person["id"]))
    listeners = []
    for _ in range(args.listeners):
        sock = await open_socket(stack.urls[0], people[-1]["access"], on_frame)
        await join(sock, room)
        listeners.append(sock)
    per_sender = args.rate / len(senders)
    run = uuid.uuid4().hex[:6]

    async def talk(n: int, sock, me: int) -> None:  # type: ignore[no-untyped-def]
        await asyncio.sleep(n / args.rate)
        start = time.monotonic()
        count = 0
        while time.monotonic() - start < args.duration:
            client_id = f"{run}-{me}-{count}"
            sent_at[client_id] = time.monotonic_ns()
            sock.send({"type": "send", "room": room, "body": f"hi {count}", "client_id": client_id})
            count += 1
            await asyncio.sleep(start + count / per_sender - time.monotonic())

    cpu_before = cpu_now(stack)
    background = asyncio.ensure_future(started()) if started else None  # once all are in
    await asyncio.gather(*(talk(n, sock, me) for n, (sock, me) in enumerate(sockets)))
    receivers = len(sockets) + len(listeners)
    deadline = time.monotonic() + STRAGGLERS
    while time.monotonic() < deadline and (
        len(acked) < len(sent_at) or len(fanout) < len(acked) * receivers
    ):
        await asyncio.sleep(0.05)
    if background is not None:
        await background
    cpu_after = cpu_now(stack)
    for sock, _ in sockets:
        sock.close()
    for sock in listeners:
        sock.close()
    latencies = list(acked.values())
    return {
        "sent": len(sent_at),
        "unacked": len(sent_at) - len(acked),
        "ack_p50_ms": percentile(latencies, 50),
        "ack_p99_ms": percentile(latencies, 99),
        "fanout_p50_ms": percentile(fanout, 50),
        "fanout_p99_ms": percentile(fanout, 99),
        "lost": max(0, len(acked) * receivers - len(fanout)),
        "server_cpu_s": cpu_after[0] - cpu_before[0],
        "workers_cpu_s": cpu_after[1] - cpu_before[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(TARGETS), default="uvicorn")
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--samples", type=int, default=5, help="processing and HTTP samples")
    parser.add_argument("--concurrent", type=int, default=20, help="uploads beside the room")
    parser.add_argument("--rate", type=float, default=200.0, help="sends/s in the busy room")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--listeners", type=int, default=80, help="members beside the senders")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--burst", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one)
        return
    if args.burst:
        burst(args.burst)
        return
    pin_generator()
    data = photo(args.megapixels)
    media = tempfile.mkdtemp(prefix="chat-bench-media-")
    try:
        with Stack(args.target, CHAT_UPLOAD_RATE="1000000", MEDIA_ROOT=media) as stack:
            result = asyncio.run(measure(stack, data, args))
    finally:
        shutil.rmtree(media, ignore_errors=True)
    result["target"] = args.target
    out = save("images", result)
    local, over_http = result["in_process"], result["http"]
    quiet, busy = result["room_quiet"], result["room_with_uploads"]
    print(
        f"images {args.target}: {args.megapixels:g} MP JPEG ({len(data) / 1e6:.1f} MB): "
        f"in process {local['seconds_median'] * 1000:.0f} ms, peak +{local['peak_mb_max']:.0f} MB; "
        f"over HTTP {over_http['seconds_median'] * 1000:.0f} ms; room quiet: ack p99 "
        f"{ms(quiet['ack_p99_ms'])}, fan-out p99 {ms(quiet['fanout_p99_ms'])}; with "
        f"{args.concurrent} uploads: ack p99 {ms(busy['ack_p99_ms'])}, fan-out p99 "
        f"{ms(busy['fanout_p99_ms'])}, lost {busy['lost']} -> {out.name}"
    )


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    main()
