"""Where a many-senders step's CPU goes, by process, and (``--profile``) by function.

    python -m bench.split --target uvicorn --rates 100,120
    python -m bench.split --target redis-pubsub --rates 100,120 --profile /tmp/prof

Runs the ``bench.fanout --senders`` steps at fixed rates (500 receivers, rate / 0.8 senders;
``--receivers 20`` makes the per-message costs stand out)
and prints, per step, each process's CPU seconds (every uvicorn worker, Redis), context
switches, and CPU microseconds per delivery. CPU time is what a busy machine disturbs
least: on one core, the clean rate cannot pass 1 / (CPU per delivery), so comparing it
between one process and two-plus-Redis says whether the split itself costs work, whatever
the latency did on the day. ``--profile DIR``: ``py-spy record --format raw`` of every worker
over each step, summarised by function (own samples and with callees).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import subprocess
from pathlib import Path

from bench import fanout
from bench.common import CLK_TCK, ROOT, Stack, pin_generator

PY_SPY = ROOT / ".venv/bin/py-spy"


def loop_and_threads(pid: int) -> tuple[float, float]:
    """CPU seconds so far of a process's main thread (the event loop) and of all its other
    threads together (the database thread, mostly)."""
    main = others = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        seconds = (int(fields[11]) + int(fields[12])) / CLK_TCK
        if int(tid) == pid:
            main += seconds
        else:
            others += seconds
    return main, others


def summarise(path: Path, top: int = 25) -> str:
    """The raw (collapsed stacks) profile at ``path``: the functions with the most samples
    of their own, and of their own plus callees."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        samples += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    lines = [f"{path.name}: {samples} samples"]
    for title, counter in (("own", own), ("with callees", total)):
        lines.append(f"  -- {title}")
        for frame, n in counter.most_common(top):
            lines.append(f"  {n / samples:6.1%}  {frame[:140]}")
    return "\n".join(lines)


async def run(
    target: str,
    receivers: int,
    rates: list[int],
    duration: float,
    profile: Path | None,
    spy_args: list[str],
    spread: bool = False,
) -> None:
    with Stack(target, defaults=("CHAT_SEND_RATE",), spread=spread) as stack:
        spies: list[subprocess.Popen] = []
        marks: list[dict[int, tuple[float, float]]] = []

        def threads() -> dict[int, tuple[float, float]]:
            return {n: loop_and_threads(worker.pid) for n, worker in enumerate(stack.workers)}

        def on_step(number: int, rate: int) -> None:
            marks.append(threads())
            for spy in spies:
                spy.wait()
            spies.clear()
            if profile is None or number <= 0:
                return
            for n, worker in enumerate(stack.workers):
                out = profile / f"{target}-{rate}-worker{n}.txt"
                command = [str(PY_SPY), "record", "--pid", str(worker.pid), "--rate", "200",
                           "--duration", str(max(1, int(duration))), "--format", "raw",
                           "-o", str(out), *spy_args]  # fmt: skip
                quiet = subprocess.DEVNULL
                spies.append(subprocess.Popen(command, stdout=quiet, stderr=quiet))

        steps = await fanout.sweep(stack, receivers, rates, duration, True, True, on_step)
        for spy in spies:
            spy.wait()
    # marks[0] is the warm-up's start; step k runs from marks[k] to marks[k + 1] (the next
    # step's start, or the end of the last).
    for step, start, end in zip(steps, marks[1:-1], marks[2:], strict=True):
        acked = max(step["acked"], 1)
        loop = sum(end[n][0] - start[n][0] for n in start)
        others = sum(end[n][1] - start[n][1] for n in start)
        step["per_message_ms"] = {
            "event_loops": loop / acked * 1e3,
            "threads": others / acked * 1e3,
        }
    report(target, steps, duration)
    if profile is not None:
        for path in sorted(profile.glob(f"{target}-*-worker*.txt")):  # noqa: ASYNC240
            print(summarise(path))


def report(target: str, steps: list[dict], duration: float) -> None:
    for step in steps:
        received = step["received"] or 1
        print(
            f"{target} {step['rate_msgs']} msg/s ({step['offered_deliveries']:,} offered): "
            f"delivered {step['deliveries_per_s']:,.0f}/s, p99 {step['p99_ms'] or 0:.0f} ms, "
            f"lost {step['lost']}; send -> ack p50 {step['ack_p50_ms'] or 0:.1f} ms, "
            f"p99 {step['ack_p99_ms'] or 0:.1f} ms"
        )
        for name, seconds in step["cpu_s"].items():
            vol, invol = step["ctx_switches"][name]
            print(
                f"  {name:8} cpu {seconds:6.2f} s ({seconds / duration:5.1%} of a core) "
                f"{seconds / received * 1e6:5.1f} us/delivery "
                f"{seconds / max(step['acked'], 1) * 1e3:6.2f} ms/message  "
                f"ctx switches {vol} voluntary, {invol} involuntary"
            )
        cpu = sum(step["cpu_s"].values())
        print(f"  {'all':8} cpu {cpu:6.2f} s  {cpu / received * 1e6:5.1f} us/delivery")
        split = step["per_message_ms"]
        print(
            f"  per message, all workers: event loops {split['event_loops']:.2f} ms CPU, "
            f"other threads (database) {split['threads']:.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="redis-pubsub")
    parser.add_argument("--receivers", type=int, default=500)
    parser.add_argument("--rates", default="100,120", help="messages/s, comma-separated")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--profile", type=Path, help="folder for py-spy's raw profiles")
    parser.add_argument(
        "--native", action="store_true", help="py-spy --native --idle (C frames, waits too)"
    )
    parser.add_argument(
        "--spread", action="store_true", help="server process n on core n (as bench.fanout)"
    )
    args = parser.parse_args()
    if args.profile is not None:
        if not PY_SPY.exists() and not shutil.which("py-spy"):
            raise SystemExit("py-spy is not installed (.venv/bin/pip install py-spy)")
        args.profile.mkdir(parents=True, exist_ok=True)
    pin_generator(spread=args.spread)
    rates = [int(rate) for rate in args.rates.split(",")]
    spy_args = ["--native", "--idle"] if args.native else ["--nonblocking"]
    asyncio.run(
        run(args.target, args.receivers, rates, args.duration, args.profile, spy_args, args.spread)
    )


if __name__ == "__main__":
    main()
