"""Scenario 7, images: processing a 12-megapixel JPEG, and uploads beside a busy room.

    python -m bench.images --target uvicorn

Three measurements on one fresh server (and its environment):

- **in process**: ``images.processing`` + storage of one 12-megapixel JPEG (decode, orient,
  scale to 2560 px, WebP, 400 px thumbnail, both files written), each sample in a fresh
  Python process: its time, and its peak RSS above the process's RSS before (Pillow
  allocates in C, where ``tracemalloc`` sees nothing, so the kernel's high-water mark).
- **over HTTP**: the same JPEG uploaded to ``POST /api/rooms/<id>/attachments/`` one at a
  time: time to the 201 (stored and thumbnailed), and the server process's peak RSS.
- **beside a busy room**: bench.ack's load (20 senders, ``--rate`` sends/s in all) with and
  without ``--concurrent`` uploads of that JPEG running at once: ack p50/p99 of both. Upload
  requests run on threads of their own (``chatsite.uploads``), not on the event loop nor the
  thread the socket's database calls share.
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
from pathlib import Path
from urllib.parse import urlsplit

import orjson

from bench.ack import measure as ack_measure
from bench.common import ROOT, TARGETS, Stack, ms, pin_generator, save


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
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def measure(stack: Stack, data: bytes, args: argparse.Namespace) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".jpg") as tmp:
        tmp.write(data)
        tmp.flush()
        local = in_process(stack, Path(tmp.name), args.samples)
    seeded = stack.seed("users", args.concurrent)
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
    quiet = await ack_measure(stack, args.rate, args.duration)

    async def uploads() -> list[float]:
        return await asyncio.gather(
            *(
                asyncio.to_thread(upload, stack.http, person["access"], room, data)
                for person in people[: args.concurrent]
            )
        )

    busy, upload_times = await asyncio.gather(
        ack_measure(stack, args.rate, args.duration), uploads()
    )
    return {
        "megapixels": args.megapixels,
        "jpeg_bytes": len(data),
        "in_process": local,
        "http": http_result,
        "concurrent": args.concurrent,
        "concurrent_uploads_s_max": max(upload_times),
        "ack_quiet": {k: quiet[k] for k in ("ack_p50_ms", "ack_p99_ms", "unacked")},
        "ack_with_uploads": {k: busy[k] for k in ("ack_p50_ms", "ack_p99_ms", "unacked")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(TARGETS), default="uvicorn")
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--samples", type=int, default=5, help="processing and HTTP samples")
    parser.add_argument("--concurrent", type=int, default=20, help="uploads beside the room")
    parser.add_argument("--rate", type=float, default=200.0, help="sends/s in the busy room")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one)
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
    print(
        f"images {args.target}: {args.megapixels:g} MP JPEG ({len(data) / 1e6:.1f} MB): "
        f"in process {local['seconds_median'] * 1000:.0f} ms, peak +{local['peak_mb_max']:.0f} MB; "
        f"over HTTP {over_http['seconds_median'] * 1000:.0f} ms; ack p99 "
        f"{ms(result['ack_quiet']['ack_p99_ms'])} quiet, "
        f"{ms(result['ack_with_uploads']['ack_p99_ms'])} with {args.concurrent} uploads "
        f"-> {out.name}"
    )


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    main()
