"""Small process helpers shared by the stack, the benchmarks and the tests."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(kind: str, port: int, app: str = "chatsite.asgi:application") -> list[str]:
    """The command line of one chat server process on loopback: ``daphne`` (development), or
    ``uvicorn`` as production runs it (``chatsite.serve``)."""
    if kind == "daphne":
        return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app]
    return [sys.executable, "-m", "chatsite.serve", "--port", str(port), "--app", app]


def wait_for_port(
    port: int, *, timeout: float = 20.0, process: subprocess.Popen | None = None
) -> None:
    """Return once something listens on 127.0.0.1:``port``; fail early if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode} before listening on {port}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


@dataclass
class Postgres:
    """One PostgreSQL server from Debian's binaries, in ``datadir`` on loopback; as root it
    runs as the ``postgres`` user (``run_as``)."""

    datadir: Path
    port: int
    user: str = "postgres"
    run_as: str | None = None
    bindir: Path = field(default_factory=Path)
    durable: bool = False  # False: fsync and synchronous commit off, for quick tests

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        return ["runuser", "-u", self.run_as, "--", *cmd] if self.run_as else cmd

    def start(self) -> None:
        """Make the cluster unless ``datadir`` holds one, and start it unless it runs."""
        if not (self.datadir / "PG_VERSION").exists():
            self.datadir.mkdir(parents=True, exist_ok=True)
            if self.run_as:  # PostgreSQL refuses to run as root: hand the folder to its user
                shutil.chown(self.datadir, self.run_as)
                shutil.chown(self.datadir.parent, self.run_as)
            subprocess.run(
                self._cmd(
                    "initdb", "-D", str(self.datadir), "-U", self.user, "--auth=trust", "-E", "UTF8"
                ),
                check=True,
                capture_output=True,
            )
        if not self.running():
            self.resume()

    def resume(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.datadir} "
        options += "-c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
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

    def running(self) -> bool:
        status = self._cmd("pg_ctl", "-D", str(self.datadir), "status")
        return subprocess.run(status, capture_output=True).returncode == 0

    def create_database(self, name: str) -> None:
        """Create database ``name`` unless it exists."""
        psql = self._cmd("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-tAc")
        exists = subprocess.run(
            [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
            capture_output=True,
            text=True,
            check=True,
        )
        if exists.stdout.strip() != "1":
            subprocess.run([*psql, f'CREATE DATABASE "{name}"'], check=True, capture_output=True)

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            self._cmd("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop"),
            capture_output=True,
        )

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def postgres_user_exists() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return True


def postgres_in_tempdir(pg_ctl: str, *, durable: bool = False) -> Postgres:
    """A new throwaway PostgreSQL server in its own temporary folder, started; ``durable``
    keeps PostgreSQL's default fsync and synchronous commit (benchmarks), else both are off.

    Not under a private temporary folder such as pytest's ``tmp_path``: as root the server
    runs as the ``postgres`` user, which must be able to reach its data folder.
    """
    base = Path(tempfile.mkdtemp(prefix="chat-pg-"))
    server = Postgres(
        datadir=base / "pgdata",
        port=free_port(),
        run_as="postgres" if os.geteuid() == 0 else None,
        bindir=Path(pg_ctl).resolve().parent,
        durable=durable,
    )
    server.start()
    return server
