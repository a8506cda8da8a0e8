"""Scenario (v1.1), search: ``GET /api/search/?q=`` over 1,000,000 messages in 100 rooms.

    python -m bench.search --target uvicorn      # SQLite: the FTS5 trigram table
    python -m bench.search --target postgresql   # pg_trgm GIN index

The messages are English and Korean (``bench.seed search``). Each request is the first page
(20 results, newest first, only rooms the reader may read) for one of these, in turn, over
one keep-alive HTTP connection, one at a time:

- ``common-en`` / ``common-ko``: a phrase in 10% of the messages;
- ``rare-en`` / ``rare-ko``: a phrase in about 10 messages;
- ``miss``: a phrase in none;
- ``two-chars``: a 2-character Korean word in 10% (below a trigram: SQLite reads ``LIKE``);
- ``two-chars-miss``: a 2-character string in none (the worst case: every readable message).

Reported: p50 and p99 of each kind, and of all requests together, in ms, as the client sees
them (token check, query, room objects, serialization, HTTP).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import shutil
import statistics
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import orjson

from bench.common import RESULTS, ROOT, TARGETS, Stack, ms, percentile, pin_generator, save

WARMUP = 5  # rounds of every kind
QUERIES = {
    "common-en": "camping tent",
    "common-ko": "캠핑 텐트",
    "rare-en": "zephyrquartz",
    "rare-ko": "반딧불이야영",
    "miss": "xylophonist",
    "two-chars": "텐트",
    "two-chars-miss": "뷁뷁",
}


def timed_search(conn: http.client.HTTPConnection, q: str, token: str) -> tuple[float, dict]:
    started = time.perf_counter()
    conn.request("GET", f"/api/search/?q={quote(q)}", headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise RuntimeError(f"search {q!r}: {response.status} {body[:200]!r}")
    return elapsed, orjson.loads(body)


def measure(stack: Stack, token: str, messages: int, requests: int) -> dict:
    parts = urlsplit(stack.http)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    for kind, q in QUERIES.items():  # right answers before fast ones
        _, page = timed_search(conn, q, token)
        found = len(page["results"])
        if kind.startswith("common") or kind == "two-chars":
            assert found == 20 and page["next_before"] is not None, (kind, found)
        elif kind.endswith("miss"):
            assert found == 0, (kind, found)
        else:
            assert 1 <= found <= 20 and all(q in r["message"]["body"] for r in page["results"])
    for _ in range(WARMUP):
        for q in QUERIES.values():
            timed_search(conn, q, token)
    timings: dict[str, list[float]] = {kind: [] for kind in QUERIES}
    for _ in range(requests):
        for kind, q in QUERIES.items():
            timings[kind].append(timed_search(conn, q, token)[0])
    conn.close()
    every = [t for values in timings.values() for t in values]
    return {
        "messages": messages,
        "all_p50_ms": percentile(every, 50),
        "all_p99_ms": percentile(every, 99),
        "kinds": {
            kind: {"p50_ms": percentile(values, 50), "p99_ms": percentile(values, 99)}
            for kind, values in timings.items()
        },
    }


def cache_key(target: str, messages: int) -> Path:
    """Where a seeded database is kept between runs: named for the engine and the size, and
    a digest of what makes its contents (the seeder, every migration, the PostgreSQL version)."""
    digest = hashlib.sha256((ROOT / "bench" / "seed.py").read_bytes())
    for migration in sorted(ROOT.glob("*/migrations/0*.py")):
        digest.update(migration.name.encode() + migration.read_bytes())
    engine = TARGETS[target].database
    if engine == "postgresql":
        digest.update(str(sorted(Path("/usr/lib/postgresql").glob("*"))).encode())
    return RESULTS / "cache" / f"search-{engine}-{messages}-{digest.hexdigest()[:12]}"


def seeded(target: str, messages: int, fresh: bool) -> tuple[Path, dict, float | None]:
    """The cached database for ``target`` and ``messages`` (seeded and saved first if there is
    none, or if ``fresh``), what the seeder returned, and how long seeding took (None: cached)."""
    cache = cache_key(target, messages)
    if cache.exists() and not fresh:
        return cache, orjson.loads((cache / "seeded.json").read_bytes()), None
    for stale in cache.parent.glob(f"search-{TARGETS[target].database}-{messages}-*"):
        shutil.rmtree(stale, ignore_errors=True)  # an older schema or seeder
    with Stack(target) as stack:
        started = time.monotonic()
        result = stack.seed("search", messages)["result"]
        seeding = time.monotonic() - started
        stack.database_save(cache)
    (cache / "seeded.json").write_bytes(orjson.dumps(result))
    return cache, result, seeding


def run(target: str, messages: int, requests: int, repeats: int, fresh: bool) -> dict:
    cache, seeds, seeding = seeded(target, messages, fresh)
    how = "cached" if seeding is None else f"seeded in {seeding:.0f} s"
    print(f"  {target:12} {messages:,} messages, {how} ({cache.name})", flush=True)
    with Stack(target, database_from=cache) as stack:  # each repeat measures it again
        reader = stack.seed("token", seeds["reader"]["id"])["result"]
        runs = []
        for _ in range(repeats):
            result = measure(stack, reader["access"], messages, requests)
            runs.append(result)
            kinds = ", ".join(
                f"{kind} {ms(v['p50_ms'])}/{ms(v['p99_ms'])}" for kind, v in result["kinds"].items()
            )
            print(
                f"  {target:12} all p50 {ms(result['all_p50_ms'])} p99 "
                f"{ms(result['all_p99_ms'])}; {kinds}",
                flush=True,
            )
    return {
        "target": target,
        "about": TARGETS[target].about,
        "seeding_s": seeding,  # None: the database came from the cache
        "runs": runs,
        "median": {
            "all_p50_ms": statistics.median(r["all_p50_ms"] for r in runs),
            "all_p99_ms": statistics.median(r["all_p99_ms"] for r in runs),
            "kinds": {
                kind: {
                    key: statistics.median(r["kinds"][kind][key] for r in runs)
                    for key in ("p50_ms", "p99_ms")
                }
                for kind in QUERIES
            },
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(TARGETS), default="uvicorn")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100, help="of each kind, per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fresh", action="store_true", help="seed again, ignoring the cache")
    args = parser.parse_args()
    pin_generator()
    result = run(args.target, args.messages, args.requests, args.repeats, args.fresh)
    out = save("search", result)
    median = result["median"]
    print(
        f"search {args.target}: {args.messages:,} messages, p50/p99 "
        f"{ms(median['all_p50_ms'])}/{ms(median['all_p99_ms'])} (medians of {args.repeats})"
        f" -> {out.name}"
    )


if __name__ == "__main__":
    main()
