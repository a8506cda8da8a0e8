"""Functions the image pool's worker processes run in tests: importable without Django
(a spawned worker imports only what it is sent)."""

from __future__ import annotations

import os


def die(source: str | bytes, max_pixels: int) -> None:
    """A worker killed while processing (as by the kernel's out-of-memory killer)."""
    os._exit(70)


def wait_for(fifo: str) -> int:
    """Hold a worker until the test writes a byte into ``fifo``; its process id."""
    with open(fifo, "rb") as gate:
        gate.read(1)
    return os.getpid()


def niceness() -> tuple[int, int]:
    return os.getpid(), os.nice(0)
