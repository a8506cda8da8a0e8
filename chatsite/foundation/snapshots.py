"""Rows the socket path reads on every handshake and join, kept in Django's cache.

A reconnect storm is thousands of handshakes (whose user is active?) and joins (is the room
there, and public?) at once; each used to read the database. A *snapshot* is one row's
fields kept in the ``default`` cache (LocMemCache in the embedded default, the Redis cache
every process shares in production), so a known user's handshake and a public room's join
read no database at all.

Invalidation is by version: a change to the row (``snapshot_invalidate``, from a model
signal) writes a fresh random version for it, at once and again after the commit. A
reader fetches the snapshot and the version in one round trip and uses the snapshot only
if it was stored under the version now current. A reader that loaded the row from the
database stores it under the version it saw *before* the load, so a copy read just before a
change committed is never used after it (no "stale set after delete" race), in any process.
The cache is an accelerator, never a gate: an empty cache, or one that cannot be reached
(Redis away), is a database read, logged, and nothing is refused for it. Snapshots expire
after ``TTL`` seconds anyway, which bounds what an invalidation lost while the cache was
unreachable can leave behind.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from channels.db import database_sync_to_async
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction

log = logging.getLogger(__name__)

TTL = 300.0  # seconds a snapshot lives without being invalidated

T = TypeVar("T")


def _keys(kind: str, pk: object) -> tuple[str, str]:
    return f"snap:{kind}:{pk}", f"snap:{kind}:{pk}:v"


def _current(found: dict[str, Any], key: str, version_key: str) -> tuple[Any, Any]:
    """(the snapshot if it was stored under the version now current, else None; that version)."""
    record, version = found.get(key), found.get(version_key)
    if isinstance(record, tuple) and len(record) == 2 and record[0] == version:
        return record[1], version
    return None, version


def snapshot_get(kind: str, pk: object, load: Callable[[], T | None]) -> T | None:
    """The cached snapshot of (``kind``, ``pk``), else ``load()`` (a database read), stored
    for the next reader. ``None`` (no such row) is not stored."""
    key, version_key = _keys(kind, pk)
    try:
        found: dict[str, Any] = cache.get_many([key, version_key])
    except Exception as exc:  # the cache is away: read the database, refuse nothing
        log.warning("snapshot cache unavailable (%s %s): %r", kind, pk, exc)
        return load()
    hit, version = _current(found, key, version_key)
    if hit is not None:
        return hit
    value_loaded = load()  # after the version was read: see the module's docstring
    if value_loaded is not None:
        try:
            cache.set(key, (version, value_loaded), TTL)
        except Exception as exc:
            log.warning("snapshot cache unavailable (%s %s): %r", kind, pk, exc)
    return value_loaded


async def asnapshot_get(kind: str, pk: object, load: Callable[[], T | None]) -> T | None:
    """``snapshot_get`` from the event loop. An in-process cache (LocMemCache, the embedded
    default) is read right here: a hit costs no hop to the database thread, whose one
    thread every socket's database work shares. A miss, or a cache over the network, goes
    to that thread (``load`` is a database read)."""
    if isinstance(caches["default"], LocMemCache):
        key, version_key = _keys(kind, pk)
        hit, _ = _current(cache.get_many([key, version_key]), key, version_key)
        if hit is not None:
            return hit
    result: T | None = await database_sync_to_async(snapshot_get)(kind, pk, load)
    return result


def snapshot_invalidate(kind: str, pk: object) -> None:
    """(``kind``, ``pk``) changed: no snapshot stored before now is used again, in any
    process sharing the cache. Done at once (this transaction's own later reads) and again
    after the commit (a reader that loaded the old row meanwhile stored it under the
    version the first bump made)."""
    _bump(kind, pk)
    transaction.on_commit(lambda: _bump(kind, pk))


def _bump(kind: str, pk: object) -> None:
    key, version_key = _keys(kind, pk)
    try:
        cache.set(version_key, uuid.uuid4().hex, None)
        cache.delete(key)
    except Exception as exc:
        # Redis away: its snapshots expire within TTL (and a restarted Redis has none).
        log.warning("snapshot invalidation failed (%s %s): %r", kind, pk, exc)
