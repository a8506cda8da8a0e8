"""The benchmark report: the latest result of each scenario and target, one row each.

    python -m bench.report        # after the scenarios (``make bench`` runs both)

Every figure is a median over the scenario's repeats; fan-out rates are also given as
ratios to the two references measured on the same machine.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Callable

from bench.common import RESULTS, TARGETS, ms
from bench.fanout import best_clean, best_lossless

SWEEPS = {"fanout", "senders", "fanout_spread", "senders_spread"}


def rate_rows(
    results: dict[str, dict], reference: float | None, last: Callable[[str, float], str]
) -> list[str]:
    """A fan-out table's rows, best clean rate first: target, clean rate (each run's),
    lossless, the ratio to ``reference``, and ``last(target, clean rate)``; then a blank."""
    rows = []
    for target, result in sorted(
        results.items(), key=lambda kv: -kv[1]["best_clean_deliveries_per_s_median"]
    ):
        best = result["best_clean_deliveries_per_s_median"]
        each = ", ".join(f"{b:,.0f}" for b in result["best_clean_deliveries_per_s_each"])
        vs_ref = f"{best / reference:.2f}x" if reference else "—"
        most = result.get("best_lossless_deliveries_per_s_median")
        most_text = "—" if most is None else f"{most:,.0f}"
        rows.append(
            f"| {target} | {best:,.0f} ({each}) | {most_text} | {vs_ref} | {last(target, best)} |"
        )
    return [*rows, ""]


def latest() -> dict[tuple[str, str], dict]:
    found: dict[tuple[str, str], dict] = {}
    for path in sorted(RESULTS.glob("*.json"), key=lambda path: path.stat().st_mtime):
        data = json.loads(path.read_text())
        if "scenario" in data and "target" in data:
            if data["scenario"] in SWEEPS:  # by the current rule, whatever wrote the file
                runs = [run["steps"] for run in data["runs"]]
                data["best_clean_deliveries_per_s_each"] = [best_clean(s) for s in runs]
                data["best_clean_deliveries_per_s_median"] = statistics.median(
                    data["best_clean_deliveries_per_s_each"]
                )
                data["best_lossless_deliveries_per_s_median"] = statistics.median(
                    best_lossless(s) for s in runs
                )
            found[(data["scenario"], data["target"])] = data
    return found


def report(results: dict[tuple[str, str], dict]) -> str:
    lines = [f"Machine: {os.cpu_count()} cores; servers on core 0, generator on core 1.", ""]
    fanout = {t: r for (s, t), r in results.items() if s == "fanout"}
    if fanout:
        reference = fanout.get("reference", {}).get("best_clean_deliveries_per_s_median")
        # The tutorial consumer is never clean (p99 > 100 ms even at 500/s): it is compared by
        # the most it delivers with nothing lost, at any latency — the kindest measure for it.
        tutorial = fanout.get("tutorial", {}).get("best_lossless_deliveries_per_s_median")
        lines += [
            "Fan-out: one room, 500 receivers. Clean: highest offered rate with p99 <= 100 ms "
            "and nothing lost (median of repeats; each run's in brackets). Lossless: highest "
            "with nothing lost at any latency. Ratios use the clean rate; the tutorial "
            "consumer's lossless rate.",
            "",
            "| target | clean deliveries/s | lossless | vs reference | vs tutorial |",
            "|---|---|---|---|---|",
        ]
        lines += rate_rows(
            fanout, reference, lambda target, best: f"{best / tutorial:.1f}x" if tutorial else "—"
        )
    senders = {t: r for (s, t), r in results.items() if s == "senders"}
    if senders:
        reference = senders.get("reference", {}).get("best_clean_deliveries_per_s_median")
        single = senders.get("uvicorn", {}).get("best_clean_deliveries_per_s_median")
        receivers = next(iter(senders.values())).get("receivers")
        lines += [
            f"Many senders: one room, {receivers} receivers, rate / 0.8 senders (each joined, "
            "within the default send limit). Clean as above; the ratio is to the reference's "
            "clean rate in this scenario (targets: uvicorn >= 0.8x, daphne >= 0.5x, "
            "2 processes through Redis >= uvicorn's).",
            "",
            "| target | clean deliveries/s | lossless | vs reference | vs 1 process |",
            "|---|---|---|---|---|",
        ]
        lines += rate_rows(
            senders,
            reference,
            lambda target, best: (
                f"{best / single:.2f}x" if single and target.startswith("redis") else ""
            ),
        )
    spread = {(s, t): r for (s, t), r in results.items() if s.endswith("_spread")}
    if spread:
        lines += [
            "Processes on cores of their own (--spread: server process n on core n, Redis on "
            "core 0, the generator unpinned, sharing the cores with them).",
            "",
            "| scenario | target | processes | clean deliveries/s | lossless |",
            "|---|---|---|---|---|",
        ]
        for (scenario, target), result in sorted(spread.items()):
            best = result["best_clean_deliveries_per_s_median"]
            each = ", ".join(f"{b:,.0f}" for b in result["best_clean_deliveries_per_s_each"])
            processes = TARGETS[target].workers if target in TARGETS else "?"
            most = result["best_lossless_deliveries_per_s_median"]
            lines.append(
                f"| {scenario.removesuffix('_spread')} | {target} | {processes} | "
                f"{best:,.0f} ({each}) | {most:,.0f} |"
            )
        lines.append("")
    rows = []
    for (scenario, target), result in sorted(results.items()):
        median = result.get("median", {})
        if scenario == "rooms":
            rows.append(
                f"| many rooms | {target} | {median['messages_per_s']:.0f} msg/s in "
                f"{result['runs'][0]['rooms']} direct rooms; "
                f"ack p50/p99 {ms(median['ack_p50_ms'])}/{ms(median['ack_p99_ms'])}; delivery "
                f"p50/p99 {ms(median['delivery_p50_ms'])}/{ms(median['delivery_p99_ms'])}; "
                f"lost {result['lost_total']} |"
            )
        elif scenario == "rooms_public":
            runs = result["runs"]
            rows.append(
                f"| many rooms (public) | {target} | {runs[0]['sockets']:,} connections in "
                f"{runs[0]['rooms']:,} rooms of {runs[0]['per_room']}: "
                f"{median['messages_per_s']:.0f} msg/s; ack p50/p99 "
                f"{ms(median['ack_p50_ms'])}/{ms(median['ack_p99_ms'])}; delivery p50/p99 "
                f"{ms(median['delivery_p50_ms'])}/{ms(median['delivery_p99_ms'])}; "
                f"{median['kb_per_connection']:.1f} KB per connection; "
                f"lost {result['lost_total']} |"
            )
        elif scenario == "redis_commands":
            rows.append(
                f"| Redis commands per message | {target} | {result['processes']} processes: "
                f"{result['sent_per_message']:.2f} sent by clients + "
                f"{result['scripted_per_message']:.2f} run in scripts ("
                + ", ".join(f"{k} {v / result['messages']:.2f}" for k, v in result["sent"].items())
                + ") |"
            )
        elif scenario == "idle":
            runs = result["runs"]
            rows.append(
                f"| idle | {target} | {runs[0]['connections']:,} connections: "
                f"{median['kb_per_connection']:.1f} KB each; idle CPU "
                f"{median['idle_cpu_percent']:.2f}% of a core |"
            )
        elif scenario == "storm":
            rows.append(
                f"| reconnect storm | {target} | {result['runs'][0]['clients']:,} clients back and "
                f"caught up in {median['all_back_s']:.1f} s (median client "
                f"{median['median_back_s']:.1f} s); lost {result['lost_total']} |"
            )
        elif scenario == "churn":
            run = result["runs"][0]
            rows.append(
                f"| sockets that come and go | {target} | {run['sockets']:,} sockets, "
                f"{run['churn_per_s']} replaced per second: ack p50/p99 "
                f"{ms(median['ack_p50_ms'])}/{ms(median['ack_p99_ms'])}; "
                f"{median['full_collections']:.0f} full collections in "
                f"{run.get('duration_s', 60):.0f} s"
                + (
                    f" ({median['full_collection_mean_s'] * 1000:.0f} ms each)"
                    if median["full_collections"]
                    else ""
                )
                + f"; heap peak "
                f"{median['heap_peak'] / max(median['heap_joined'], 1):.2f}x joined; RSS "
                f"{median['rss_joined_mb']:.0f} -> {median['rss_end_mb']:.0f} MB |"
            )
        elif scenario == "history":
            inner = median["in_process"]
            rows.append(
                f"| history | {target} | over HTTP: latest p50/p99 {ms(median['latest_p50_ms'])}/"
                f"{ms(median['latest_p99_ms'])}, 900,000 back {ms(median['deep_p50_ms'])}/"
                f"{ms(median['deep_p99_ms'])} ({median['deep_to_latest_p50']:.2f}x); "
                f"in-process {ms(inner['latest_p50_ms'])} / {ms(inner['deep_p50_ms'])} |"
            )
        elif scenario == "search":
            kinds = median["kinds"]
            rows.append(
                f"| search | {target} | {result['runs'][0]['messages']:,} messages: p50/p99 "
                f"{ms(median['all_p50_ms'])}/{ms(median['all_p99_ms'])}; "
                + ", ".join(f"{k} {ms(v['p50_ms'])}/{ms(v['p99_ms'])}" for k, v in kinds.items())
                + " |"
            )
        elif scenario == "images":
            local, over_http = result["in_process"], result["http"]
            quiet = result.get("room_quiet") or result["ack_quiet"]  # older results: ack only
            busy = result.get("room_with_uploads") or result["ack_with_uploads"]
            rows.append(
                f"| images | {target} | {result['megapixels']:g} MP JPEG: processed and stored "
                f"in {local['seconds_median'] * 1000:.0f} ms "
                f"(peak +{local['peak_mb_max']:.0f} MB), "
                f"upload to 201 {over_http['seconds_median'] * 1000:.0f} ms; ack p99 "
                f"{ms(quiet['ack_p99_ms'])} quiet, {ms(busy['ack_p99_ms'])} beside "
                f"{result['concurrent']} uploads; fan-out p99 {ms(quiet.get('fanout_p99_ms'))} / "
                f"{ms(busy.get('fanout_p99_ms'))} |"
            )
        elif scenario == "reactions":
            steps = result["runs"][0]["steps"]
            per_change = {s["frames_per_change_per_receiver"] for s in steps} - {None}
            rows.append(
                f"| reactions burst | {target} | {result['receivers']} receivers: best clean "
                f"deliveries/s messages {median['messages_best_clean']:,.0f}, reactions "
                f"{median['reactions_best_clean']:,.0f}; frames per change per receiver "
                f"{', '.join(f'{v:.2f}' for v in sorted(per_change))} |"
            )
        elif scenario.startswith("ack"):
            label = "send -> ack" + (f" ({scenario[4:]})" if scenario != "ack" else "")
            rows.append(
                f"| {label} | {target} | {median['sends_per_s']:.0f} sends/s: p50 "
                f"{ms(median['ack_p50_ms'])}, p99 {ms(median['ack_p99_ms'])}; "
                f"unacked {result['unacked_total']} |"
            )
        elif scenario == "push":
            rows.append(
                f"| {result['count']} pushes | {target} | drained in "
                f"{result['worker_seconds']:.1f} s ({result['pushes_per_second']:.0f}/s); "
                f"message_send p50/p99 with the hook {ms(result['send_ms_with_hook']['p50'])}/"
                f"{ms(result['send_ms_with_hook']['p99'])}, without "
                f"{ms(result['send_ms_without_hook']['p50'])}/"
                f"{ms(result['send_ms_without_hook']['p99'])} |"
            )
    if rows:
        lines += ["| scenario | target | result (medians) |", "|---|---|---|", *rows]
    return "\n".join(lines)


def main() -> None:
    results = latest()
    if not results:
        raise SystemExit(f"no results in {RESULTS}; run make bench")
    print(report(results))


if __name__ == "__main__":
    main()
