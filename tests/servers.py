"""Real throwaway servers for tests: PostgreSQL, Redis, Daphne and uvicorn.

Our own, not pytest-postgresql and pytest-redis: the tests may run as root (``.ci/run``
calls apt-get without sudo), and PostgreSQL refuses root (``ops.procs.Postgres`` then runs it
as the ``postgres`` user, which pytest-postgresql does not); the outage tests
stop and restart the same servers mid-test; and the stack and the benchmarks start
PostgreSQL with the same helper, so there is one way to do it.

A missing binary skips the test with the reason; under ``CI=true`` it fails instead, because
CI installs every binary (.ci/run) and a skip there would hide a broken set-up.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from ops.procs import (
    Postgres,
    free_port,
    postgres_in_tempdir,
    postgres_user_exists,
    server_command,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parent.parent


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need_binary(name: str, *patterns: str) -> str:
    """The path of ``name``; skip (or, under CI, fail) when it is not installed."""
    path = shutil.which(name)
    for pattern in patterns:
        if path:
            break
        found = sorted(glob.glob(pattern))
        path = found[-1] if found else None
    if path:
        return path
    reason = f"{name} is not installed (.ci/run installs it from Debian)"
    if in_ci():
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def start_postgres() -> Postgres:
    pg_ctl = need_binary("pg_ctl", "/usr/lib/postgresql/*/bin/pg_ctl")
    if os.geteuid() == 0 and not postgres_user_exists():
        pytest.fail("running as root needs the 'postgres' system user (Debian's postgresql)")
    return postgres_in_tempdir(pg_ctl)


@dataclass
class Redis:
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def start_redis(port: int | None = None) -> Redis:
    binary = need_binary("redis-server")
    port = port or free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, process=process)
    return Redis(port=port, process=process)


@dataclass
class Server:
    """One chat server process: Daphne (``make run``) or uvicorn (production)."""

    port: int
    process: subprocess.Popen
    log: Path

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat/"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def as_a_service() -> None:
    """In the child, before exec: SIGINT and SIGQUIT ignored, as a process manager or a
    shell's background job leaves them (an ignored signal stays ignored across exec)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)


def start_server(
    kind: str, env: dict[str, str], log: Path, port: int | None = None, *, service: bool = False
) -> Server:
    """``service``: started the way a process manager starts it (``as_a_service``, stdin
    /dev/null, a session of its own), not as a child of the test's terminal."""
    port = port or free_port()
    handle = log.open("ab")
    process = subprocess.Popen(
        server_command(kind, port),
        cwd=ROOT,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=handle,
        stderr=subprocess.STDOUT,
        preexec_fn=as_a_service if service else None,
        start_new_session=service,
    )
    wait_for_port(port, process=process, timeout=30)
    return Server(port=port, process=process, log=log)


def start_daphne(env: dict[str, str], log: Path, port: int | None = None) -> Server:
    return start_server("daphne", env, log, port)
