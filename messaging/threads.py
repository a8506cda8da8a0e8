"""Database work from the event loop, typed."""

from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from channels.db import database_sync_to_async

P = ParamSpec("P")
R = TypeVar("R")


def in_db_thread(fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``fn`` as a coroutine function run on Channels' database thread (which closes stale
    connections around each call): ``database_sync_to_async`` with its signature kept."""
    wrapped: Callable[P, Awaitable[R]] = database_sync_to_async(fn)
    return wrapped
