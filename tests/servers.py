"""Real throwaway servers for tests: PostgreSQL, Redis, Daphne.

A missing binary skips the test with the reason; under ``CI=true`` it fails instead, because
CI installs every binary (.ci/run) and a skip there would hide a broken set-up.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ops.procs import free_port, wait_for_port

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


@dataclass
class Postgres:
    datadir: Path
    port: int
    user: str = "postgres"
    run_as: str | None = None
    bindir: Path = field(default_factory=Path)

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        return ["runuser", "-u", self.run_as, "--", *cmd] if self.run_as else cmd

    def start(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self.run_as:  # PostgreSQL refuses to run as root: hand the folder to its own user
            shutil.chown(self.datadir, self.run_as)
            shutil.chown(self.datadir.parent, self.run_as)
        subprocess.run(
            self._cmd(
                "initdb", "-D", str(self.datadir), "-U", self.user, "--auth=trust", "-E", "UTF8"
            ),
            check=True,
            capture_output=True,
        )
        self.resume()

    def resume(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.datadir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            self._cmd(
                "pg_ctl",
                "-D",
                str(self.datadir),
                "-o",
                options,
                "-w",
                "-l",
                str(self.datadir / "log"),
                "start",
            ),
            check=True,
            capture_output=True,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            self._cmd("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop"),
            capture_output=True,
        )

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def start_postgres() -> Postgres:
    pg_ctl = need_binary("pg_ctl", "/usr/lib/postgresql/*/bin/pg_ctl")
    run_as = None
    if os.geteuid() == 0:
        try:
            run_as = pwd.getpwnam("postgres").pw_name
        except KeyError:
            pytest.fail("running as root needs the 'postgres' system user (Debian's postgresql)")
    # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="chat-pg-"))
    server = Postgres(
        datadir=base / "pgdata",
        port=free_port(),
        run_as=run_as,
        bindir=Path(pg_ctl).resolve().parent,
    )
    server.start()
    return server


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
class Daphne:
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


def start_daphne(env: dict[str, str], log: Path, port: int | None = None) -> Daphne:
    port = port or free_port()
    handle = log.open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "chatsite.asgi:application",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port, process=process, timeout=30)
    return Daphne(port=port, process=process, log=log)
