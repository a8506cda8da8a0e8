"""What every scenario shares: the targets it can run against, starting them, seeding them,
the numbers (percentiles, a process's memory and CPU) and where results go.

Servers run on core 0 and the generator on core 1 (``taskset`` / ``sched_setaffinity``) when
the machine has two cores or more; with more, the servers still get one core, as the targets
in issue 6 are stated per core.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import resource
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson

from ops.procs import Postgres, free_port, postgres_in_tempdir, server_command, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
# ``make bench-quick`` writes elsewhere, so its small runs never stand in the full report.
RESULTS = ROOT / os.environ.get("BENCH_RESULTS", "bench/results")  # relative to the checkout
SERVER_CORE, GENERATOR_CORE = 0, 1
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Target:
    server: str  # "daphne", "uvicorn" or "reference"
    app: str = "chatsite.asgi:application"
    workers: int = 1
    layer: str | None = None  # None: in-memory; "core" / "pubsub": Redis
    database: str = "sqlite"  # or "postgresql"
    about: str = ""


TARGETS = {
    "reference": Target("reference", about="bare websockets broadcast, no storage or auth"),
    "tutorial": Target(
        "uvicorn",
        app="bench.tutorial:application",
        about="Channels-tutorial consumer (group_send per member, json.dumps each), uvicorn",
    ),
    "daphne": Target("daphne", about="embedded default: 1 Daphne, SQLite, in-memory layer"),
    "uvicorn": Target("uvicorn", about="1 uvicorn (production server), SQLite, in-memory layer"),
    "redis": Target("uvicorn", workers=2, layer="core", about="2 uvicorn + RedisChannelLayer"),
    "redis-pubsub": Target(
        "uvicorn", workers=2, layer="pubsub", about="2 uvicorn + RedisPubSubChannelLayer"
    ),
    "redis-pubsub-1": Target(
        "uvicorn", workers=1, layer="pubsub", about="1 uvicorn + Redis pub/sub (the layer's cost)"
    ),
    "redis-pubsub-4": Target(
        "uvicorn", workers=4, layer="pubsub", about="4 uvicorn + Redis pub/sub (for --spread)"
    ),
    "redis-daphne": Target("daphne", workers=2, layer="core", about="2 Daphne + RedisChannelLayer"),
    "postgresql": Target(
        "uvicorn", database="postgresql", about="1 uvicorn, PostgreSQL, in-memory layer"
    ),
}


def pin_generator(spread: bool = False) -> None:
    """The generator on core 1; with ``spread`` (server processes on cores of their own) it
    is left to share every core with them."""
    if (os.cpu_count() or 1) >= 2 and not spread:
        os.sched_setaffinity(0, {GENERATOR_CORE})
    raise_open_files()


@contextlib.contextmanager
def generator_gc_paused() -> Iterator[None]:
    """No garbage collection in the load generator while it measures: it holds as many
    sockets as the server, and its own collections (0.5-1 s at 10,000 sockets, Python's
    default thresholds) were counted as the server's latency. What exists is frozen first;
    the cycles made meanwhile are collected afterwards."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()
        gc.collect()


T = TypeVar("T")
R = TypeVar("R")
BATCH = 250  # sockets opened at once


async def in_batches(items: Iterable[T], start: Callable[[T], Awaitable[R]]) -> list[R]:
    """``start(item)`` for every item, ``BATCH`` at a time: each batch is finished before
    the next begins. The results in the items' order."""
    pending = list(items)
    done: list[R] = []
    for first in range(0, len(pending), BATCH):
        done += await asyncio.gather(*(start(item) for item in pending[first : first + BATCH]))
    return done


def raise_open_files() -> None:
    """Thousands of sockets need more than the usual 1,024 descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(wanted, 1 << 20)), hard))


def pinned(cmd: list[str], core: int = SERVER_CORE) -> list[str]:
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", str(core), *cmd]
    return cmd


class Stack:
    """A target's processes on loopback. ``urls``: WebSocket URLs, one per worker."""

    def __init__(
        self,
        name: str,
        defaults: tuple[str, ...] = (),
        spread: bool = False,
        *,
        database_from: Path | None = None,
        **env: str,
    ) -> None:
        """``env`` overrides the bench's environment; ``defaults`` names settings the bench
        would relax (``CHAT_SEND_RATE``...) that stay at the project's defaults instead;
        ``spread`` puts server process n on core n (mod the cores) instead of all on core 0;
        ``database_from``: a folder ``database_save`` wrote: the stack starts on a copy of
        that database (a seeded one, cached between runs) instead of an empty one."""
        self.name = name
        self.spread = spread
        self.database_from = database_from
        self.target = TARGETS[name]
        self.tmp = Path(tempfile.mkdtemp(prefix="chat-bench-"))
        self.procs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.ports: list[int] = []
        self.redis: subprocess.Popen | None = None
        self.postgres: Postgres | None = None
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE", "DATABASE_URL"}},
            "SECRET_KEY": secrets.token_urlsafe(40),
            "SQLITE_PATH": str(self.tmp / "db.sqlite3"),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DEBUG": "false",
            "CHAT_GUEST_RATE": "1000000/minute",
            "CHAT_GUEST_POW_BITS": "0",
            "CHAT_MAX_CONNECTIONS_PER_ADDRESS": "1000000",
            "CHAT_SEND_RATE": "1000000",
            "CHAT_MAX_CONNECTIONS_PER_USER": "1000000",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        for key in defaults:
            self.env.pop(key, None)

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def urls(self) -> list[str]:
        return [f"ws://127.0.0.1:{port}/ws/chat/" for port in self.ports]

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    def start(self) -> None:
        target = self.target
        if target.server == "reference":
            port = free_port()
            self._spawn(
                [sys.executable, str(ROOT / "bench/reference_server.py"), "--port", str(port)]
            )
            wait_for_port(port, process=self.procs[-1])
            self.ports.append(port)
            return
        if target.layer:
            redis_port = free_port()
            self.redis = self._spawn(
                ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"]
            )
            wait_for_port(redis_port)
            self.env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
            self.env["CHANNEL_LAYER"] = target.layer
        if target.database == "postgresql":
            pg_ctl = shutil.which("pg_ctl") or max(
                Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), default=None
            )
            if pg_ctl is None:
                raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
            if self.database_from is None:
                self.postgres = postgres_in_tempdir(str(pg_ctl), durable=True)  # acks on disk
            else:
                self.postgres = postgres_copied(self.database_from / "pgdata", Path(pg_ctl))
            self.env["DATABASE_URL"] = (
                f"postgres://postgres@127.0.0.1:{self.postgres.port}/postgres"
            )
        elif self.database_from is not None:
            shutil.copyfile(self.database_from / "db.sqlite3", self.env["SQLITE_PATH"])
        self.manage("migrate", "-v0")
        for _ in range(target.workers):
            self.start_worker(free_port())

    def start_worker(self, port: int) -> None:
        """Start one server process on ``port``: Daphne, or uvicorn configured as in
        production (``chatsite.serve``, with whichever application the target runs)."""
        cmd = server_command(self.target.server, port, self.target.app)
        if self.target.server != "daphne":
            cmd += ["--log-level", "warning"]
        core = len(self.workers) % (os.cpu_count() or 1) if self.spread else SERVER_CORE
        process = self._spawn(cmd, core)
        wait_for_port(port, process=process, timeout=60)
        self.workers.append(process)
        self.ports.append(port)

    def _spawn(self, cmd: list[str], core: int = SERVER_CORE) -> subprocess.Popen:
        log = (self.tmp / f"proc-{len(self.procs)}.log").open("ab")
        process = subprocess.Popen(
            pinned(cmd, core), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=raise_open_files,
        )  # fmt: skip
        self.procs.append(process)
        return process

    def metrics(self) -> dict[str, float]:
        """The first server process's ``/metrics``: each sample's value by its name (with
        labels, as Prometheus writes it)."""
        with urllib.request.urlopen(f"{self.http}/metrics", timeout=10) as response:
            lines = response.read().decode().splitlines()
        return {
            name: float(value)
            for name, _, value in (
                line.rpartition(" ") for line in lines if line and line[0] != "#"
            )
        }

    def usage(self) -> dict[str, tuple[float, int, int]]:
        """Each server process's (``worker0``...) and Redis' CPU seconds so far and voluntary
        and involuntary context switches: subtract two readings for a step's share."""
        named = {f"worker{n}": process for n, process in enumerate(self.workers)}
        if self.redis is not None:
            named["redis"] = self.redis
        return {
            name: (cpu_seconds(process.pid), *context_switches(process.pid))
            for name, process in named.items()
            if process.poll() is None
        }

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True)

    def seed(self, command: str, count: int) -> dict[str, Any]:
        """``bench.seed`` in the server's environment: {"result": ..., "general": room id}."""
        out = subprocess.run(
            [sys.executable, "-m", "bench.seed", command, str(count)],
            cwd=ROOT, env=self.env, check=True, stdout=subprocess.PIPE,
        )  # fmt: skip
        # (stderr not captured: the seeder's errors show on the terminal)
        return orjson.loads(out.stdout)

    def database_save(self, to: Path) -> None:
        """Keep a copy of the database in folder ``to`` (for ``database_from``). PostgreSQL is
        stopped for the copy and started again: the servers' connections must reconnect."""
        partial = to.with_name(to.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        if self.postgres is not None:
            self.postgres.stop("fast")
            subprocess.run(["cp", "-a", str(self.postgres.datadir), str(partial / "pgdata")],
                           check=True)  # fmt: skip
            self.postgres.resume()
        else:
            source = sqlite3.connect(self.env["SQLITE_PATH"])
            with contextlib.closing(sqlite3.connect(partial / "db.sqlite3")) as copy:
                source.backup(copy)
            source.close()
        shutil.rmtree(to, ignore_errors=True)
        partial.rename(to)

    def stop(self) -> None:
        for process in self.procs:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.procs:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.postgres is not None:
            self.postgres.remove()
        shutil.rmtree(self.tmp, ignore_errors=True)


def postgres_copied(pgdata: Path, pg_ctl: Path) -> Postgres:
    """A throwaway PostgreSQL server on a copy of the (stopped) cluster ``pgdata``, started,
    durable as the benchmarks' own."""
    base = Path(tempfile.mkdtemp(prefix="chat-pg-"))
    run_as = "postgres" if os.geteuid() == 0 else None
    subprocess.run(["cp", "-a", str(pgdata), str(base / "pgdata")], check=True)
    if run_as:
        shutil.chown(base, run_as)
    server = Postgres(datadir=base / "pgdata", port=free_port(), run_as=run_as,
                      bindir=pg_ctl.resolve().parent, durable=True)  # fmt: skip
    server.start()
    return server


async def repeat(
    target: str,
    repeats: int,
    measure: Callable[[Stack], Awaitable[dict[str, Any]]],
    *,
    line: Callable[[dict[str, Any]], str],
    keys: list[str],
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run ``measure`` on a fresh ``target`` stack (with ``env`` added to its environment)
    ``repeats`` times, printing ``line`` of each run; the runs, the medians of ``keys``, and
    the total ``lost`` when runs count it."""
    runs = []
    for _ in range(repeats):
        with Stack(target, **(env or {})) as stack:
            result = await measure(stack)
        runs.append(result)
        print(f"  {target:12} {line(result)}", flush=True)
    summary: dict[str, Any] = {
        "target": target,
        "about": TARGETS[target].about,
        "runs": runs,
        "median": {key: statistics.median(run[key] for run in runs) for key in keys},
    }
    if all("lost" in run for run in runs):
        summary["lost_total"] = sum(run["lost"] for run in runs)
    return summary


# --- numbers -------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100), nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def context_switches(pid: int) -> tuple[int, int]:
    """(voluntary, involuntary) context switches of a process so far."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (
        int(fields["voluntary_ctxt_switches"]),
        int(fields["nonvoluntary_ctxt_switches"]),
    )


def rss_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


def save(scenario: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"scenario": scenario, "cores": os.cpu_count(), "at": time.time(), **result}
    out = RESULTS / f"{scenario}-{result.get('target', 'x')}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    return out


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} ms"
