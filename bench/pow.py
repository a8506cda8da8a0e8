"""The guest puzzle's price: Chromium solving it with the client's own worker, and a bot.

Chromium here (Debian's, through Playwright) runs ``static/js/pow-worker.js`` — the file the
browser client uses — on fresh random challenges at each ``bits``; the median time is what a
person waits on a first visit. A bot pays per identity what native SHA-256 costs for 2^bits
tries on one core (``hashlib`` here; a tuned C or GPU solver pays less: this is the floor
of the honest estimate, not a bound).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import secrets
import statistics
import threading
import time
from typing import Any

from bench.common import ROOT, save

PAGE = """<!doctype html><meta charset="utf-8"><title>pow</title><script>
window.solve = (challenge, bits) => new Promise((resolve) => {
  const started = performance.now();
  const worker = new Worker("/js/pow-worker.js");
  worker.onmessage = ({ data }) => {
    if (data.nonce === undefined) return;
    worker.terminate();
    resolve({ ms: performance.now() - started, tried: data.tried });
  };
  worker.postMessage({ challenge, bits });
});
</script>"""


def serve_static() -> tuple[http.server.ThreadingHTTPServer, int]:
    root = ROOT / "static"

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/":
                body = PAGE.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def chromium(bits_list: list[int], samples: int) -> dict[int, dict[str, float]]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import CHROMIUM_ARGS

    server, port = serve_static()
    out: dict[int, dict[str, float]] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.evaluate("solve('warm-up', 8)")
            for bits in bits_list:
                runs = [
                    page.evaluate("([c, b]) => solve(c, b)", [secrets.token_urlsafe(30), bits])
                    for _ in range(samples)
                ]
                times = sorted(r["ms"] for r in runs)
                tried = sum(r["tried"] for r in runs)
                out[bits] = {
                    "median_ms": statistics.median(times),
                    "p90_ms": times[int(len(times) * 0.9) - 1] if len(times) >= 10 else times[-1],
                    "hashes_per_s": tried / (sum(times) / 1000),
                }
                print(
                    f"chromium {bits} bits: median {out[bits]['median_ms']:.0f} ms, "
                    f"p90 {out[bits]['p90_ms']:.0f} ms, "
                    f"{out[bits]['hashes_per_s'] / 1000:.0f} k hashes/s ({samples} solves)"
                )
            browser.close()
    finally:
        server.shutdown()
    return out


def native_rate(seconds: float = 1.0) -> float:
    """SHA-256 of a challenge-sized input per second on one core (hashlib)."""
    prefix = (secrets.token_urlsafe(60) + ":").encode()
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for i in range(10_000):
            hashlib.sha256(prefix + str(i).encode()).digest()
        n += 10_000
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, nargs="+", default=[14, 15, 16, 17])
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args()
    browser = chromium(args.bits, args.samples)
    rate = native_rate()
    bot = {bits: 2**bits / rate for bits in args.bits}
    print(f"native (hashlib) one core: {rate / 1e6:.2f} M hashes/s")
    for bits, seconds in bot.items():
        print(
            f"a bot pays {seconds * 1000:.0f} ms per identity per core at {bits} bits "
            f"({3600 / seconds:.0f} identities/hour/core before the address escalation)"
        )
    out = save(
        "pow",
        {"target": "chromium", "chromium": browser, "native_hashes_per_s": rate, "bot_s": bot},
    )
    print(f"-> {out.name}")


if __name__ == "__main__":
    main()
