"""Scenario (issue 15): reading a long room back in the browser stays smooth.

    python -m bench.scroll                     # 5,000 messages, Daphne, Debian's Chromium
    python -m bench.scroll --messages 500      # a quick check that it works

A room is seeded with ``--messages`` messages (three authors taking turns in runs of 1-4,
a minute apart, so the list has its author runs and a date separator every 1,440 messages;
bodies of 4-40 words), opened in Chromium (Playwright, ``/usr/bin/chromium``, 1280 by 800),
and scrolled from the latest message up to the first by a script: each animation frame moves
the list ``--step`` px up, as a steady fling would; at the top the page loads the next
history page (as a reader's scroll does) and the script keeps scrolling through it. Every
``requestAnimationFrame`` interval is recorded, and every 10th frame the page's element
count and how many messages are in it.

Reported: frame interval p50, p95 and max (ms); frames over 16.7 ms (a missed 60 Hz vsync)
and over 33 ms; long tasks (> 50 ms, PerformanceObserver); the most elements and messages
ever in the page; the time to the first message. Frame times are the machine's as much as
the page's: on a busy machine read the element counts (deterministic) first.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

from bench.common import ROOT, Stack, percentile, save

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    # Frames at the display rate even when Chromium thinks nobody is looking:
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
]

SCROLL = """
async ({ step, timeout }) => {
  const scroller = document.querySelector("#scroller");
  const deltas = [], elements = [], messages = [];
  let longTasks = 0;
  new PerformanceObserver((list) => (longTasks += list.getEntries().length))
    .observe({ entryTypes: ["longtask"] });
  const start = performance.now();
  let last = null;
  return await new Promise((resolve) => {
    const frame = (now) => {
      if (last !== null) deltas.push(now - last);
      last = now;
      scroller.scrollTop = Math.max(0, scroller.scrollTop - step);
      if (deltas.length % 10 === 0) {
        elements.push(document.getElementsByTagName("*").length);
        messages.push(document.querySelectorAll("#messages .msg").length);
      }
      const done = scroller.scrollTop === 0
        && Boolean(document.querySelector('#messages .msg[data-seq="1"]'));
      if (done || now - start > timeout) {
        const seconds = (now - start) / 1000;
        resolve({ deltas, elements, messages, longTasks, done, seconds });
      } else {
        requestAnimationFrame(frame);
      }
    };
    requestAnimationFrame(frame);
  });
}
"""


SEED = """
import json, random
from datetime import timedelta
from django.utils import timezone
from accounts.services import guest_create
from messaging.models import ChatMessage
from rooms.models import ChatRoom
random.seed(15)
count = {count}
authors = [guest_create() for _ in range(3)]
room = ChatRoom.objects.create(
    kind="public", name=f"scroll-{{count}}-{{authors[0].id}}", created_by=authors[0]
)
words = "the tent is free this weekend if you want it pick up after six near the station".split()
start = timezone.now() - timedelta(minutes=count)
rows, author = [], 0
for seq in range(1, count + 1):
    if random.random() < 0.4:
        author = (author + 1) % 3
    body = " ".join(random.choice(words) for _ in range(random.randint(4, 40)))
    rows.append(ChatMessage(
        room=room, author=authors[author], body=body, client_id=f"s{{seq}}", seq=seq, rev=seq
    ))
made = ChatMessage.objects.bulk_create(rows, batch_size=500)
for message in made:
    at = start + timedelta(minutes=message.seq)
    ChatMessage.objects.filter(pk=message.pk).update(created_at=at)
ChatRoom.objects.filter(pk=room.pk).update(last_seq=count)
print(json.dumps({{"room": room.id}}))
"""


def seed(stack: Stack, count: int) -> int:
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEED.format(count=count)],
        cwd=ROOT, env=stack.env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])["room"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--step", type=int, default=150, help="px scrolled up per frame")
    parser.add_argument("--timeout", type=float, default=600, help="seconds at most")
    args = parser.parse_args()
    if not shutil.which(CHROMIUM):
        raise SystemExit(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with Stack("daphne", DEBUG="true") as stack:  # Daphne serves the client, as in `make run`
        room = seed(stack, args.messages)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(30_000)
            page.goto(f"{stack.http}/rooms/{room}/")
            page.locator(f'#messages .msg[data-seq="{args.messages}"]').wait_for()
            page.locator("#online").filter(has_not_text="0").wait_for()
            run = page.evaluate(SCROLL, {"step": args.step, "timeout": args.timeout * 1000})
            browser.close()
    deltas = run["deltas"][5:]  # the first frames carry the evaluate's start
    result = {
        "target": "daphne",
        "messages": args.messages,
        "step_px": args.step,
        "reached_first": run["done"],
        "seconds": round(run["seconds"], 1),
        "frames": len(deltas),
        "frame_p50_ms": round(percentile(deltas, 50) or 0, 1),
        "frame_p95_ms": round(percentile(deltas, 95) or 0, 1),
        "frame_max_ms": round(max(deltas, default=0), 1),
        "frames_over_16_7_ms": sum(d > 16.7 + 0.5 for d in deltas),  # 0.5: timer jitter
        "frames_over_33_ms": sum(d > 33.4 for d in deltas),
        "long_tasks": run["longTasks"],
        "max_elements": max(run["elements"], default=0),
        "max_messages_in_page": max(run["messages"], default=0),
    }
    path = save("scroll", result)
    print(
        f"{args.messages} messages, {args.step} px/frame: reached the first "
        f"{'yes' if run['done'] else 'NO'} in {result['seconds']} s, {result['frames']} frames; "
        f"frame p50 {result['frame_p50_ms']} ms, p95 {result['frame_p95_ms']} ms, "
        f"max {result['frame_max_ms']} ms; > 16.7 ms: {result['frames_over_16_7_ms']}, "
        f"> 33 ms: {result['frames_over_33_ms']}; long tasks {result['long_tasks']}; "
        f"at most {result['max_elements']} elements, {result['max_messages_in_page']} messages "
        f"in the page\n{path}"
    )


if __name__ == "__main__":
    main()
