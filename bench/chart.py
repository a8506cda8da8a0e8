"""The fan-out picture: latency (p50 and p99, log scale) against offered deliveries/s, one
line pair per server, one panel per fan-out scenario (one sender; many senders), from the
latest result of each target under ``bench/results/``.

    python -m bench.chart                 # bench/results/chart.{png,svg} (+ a dated copy)
    python -m bench.chart --publish       # also bench/chart.png, the one bench/README.md shows

``bench.fanout`` draws it after every run. Each point is the median over the run's repeats
of that step's p50 / p99; a step some repeats never reached (the sweep stops once something
is lost) is drawn from the repeats that did. The 100 ms line is the "clean" bound.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from collections import defaultdict

from bench.common import RESULTS, ROOT

SCENARIOS = {
    "fanout": "one sender",
    "senders": "many senders (rate / 0.8, each within the limit)",
}
ORDER = ["reference", "uvicorn", "redis-pubsub", "redis", "daphne", "tutorial", "postgresql"]
PUBLISHED = ROOT / "bench" / "chart.png"
CLEAN_MS = 100.0


def latest_fanouts() -> dict[str, dict[str, dict]]:
    """scenario -> target -> its latest result."""
    found: dict[str, dict[str, dict]] = defaultdict(dict)
    for path in sorted(RESULTS.glob("*.json"), key=lambda path: path.stat().st_mtime):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if data.get("scenario") in SCENARIOS and "target" in data:
            found[data["scenario"]][data["target"]] = data
    return found


def curve(result: dict) -> list[tuple[float, float, float]]:
    """(offered deliveries/s, p50 ms, p99 ms), medians over the repeats, by offered rate."""
    by_rate: dict[float, list[dict]] = defaultdict(list)
    for run in result["runs"]:
        for step in run["steps"]:
            if step["p50_ms"] is not None and step["p99_ms"] is not None:
                by_rate[step["offered_deliveries"]].append(step)
    return [
        (
            rate,
            statistics.median(s["p50_ms"] for s in steps),
            statistics.median(s["p99_ms"] for s in steps),
        )
        for rate, steps in sorted(by_rate.items())
    ]


def draw(publish: bool = False) -> list[str]:
    """Draw the chart; the paths written (none when there is nothing to draw)."""
    found = latest_fanouts()
    if not found:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [s for s in SCENARIOS if s in found]
    fig, axes = plt.subplots(
        1, len(panels), figsize=(6.5 * len(panels), 4.8), squeeze=False, sharey=True
    )
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    targets = sorted(
        {t for s in panels for t in found[s]},
        key=lambda t: (ORDER.index(t) if t in ORDER else len(ORDER), t),
    )
    color = {t: colors[n % len(colors)] for n, t in enumerate(targets)}
    for ax, scenario in zip(axes[0], panels, strict=True):
        for target in targets:
            result = found[scenario].get(target)
            if result is None:
                continue
            points = curve(result)
            if not points:
                continue
            xs = [p[0] for p in points]
            repeats = len(result["runs"])
            ax.plot(xs, [p[2] for p in points], "-o", ms=3, color=color[target],
                    label=f"{target} p99 ({repeats} run{'s' * (repeats > 1)})")  # fmt: skip
            ax.plot(xs, [p[1] for p in points], "--", lw=1, color=color[target],
                    label=f"{target} p50")  # fmt: skip
        ax.axhline(CLEAN_MS, color="grey", lw=0.8, ls=":")
        ax.text(ax.get_xlim()[0], CLEAN_MS * 1.08, " clean: p99 ≤ 100 ms", color="grey",
                fontsize=8)  # fmt: skip
        ax.set_yscale("log")
        ax.set_xlabel("offered deliveries/s (messages/s x receivers)")
        receivers = next(iter(found[scenario].values())).get("receivers", "?")
        ax.set_title(f"Fan-out, {receivers} receivers, {SCENARIOS[scenario]}", fontsize=10)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=7, ncol=2)
    axes[0][0].set_ylabel("send → receive latency, ms (log)")
    stamp = time.strftime("%Y-%m-%d %H:%M")
    fig.suptitle(f"bench.fanout, {stamp}: servers on core 0, generator on core 1", fontsize=9)
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    written = []
    dated = time.strftime("%Y%m%d-%H%M%S")
    for ext in ("png", "svg"):
        out = RESULTS / f"chart-{dated}.{ext}"
        fig.savefig(out, dpi=110)
        shutil.copyfile(out, RESULTS / f"chart.{ext}")
        written.append(str(RESULTS / f"chart.{ext}"))
    plt.close(fig)
    if publish:
        shutil.copyfile(RESULTS / "chart.png", PUBLISHED)
        written.append(str(PUBLISHED))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publish", action="store_true", help=f"also write {PUBLISHED.name}")
    args = parser.parse_args()
    written = draw(publish=args.publish)
    if not written:
        raise SystemExit(f"no fan-out results under {RESULTS}")
    print("\n".join(written))


if __name__ == "__main__":
    main()
