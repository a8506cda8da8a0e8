"""Ephemeral shared state: presence, open connections per user, rate limits, typing claims.

Nothing here is numbered or replayed. Two backends behind one interface:

- ``LocalStore`` for the embedded default (one process, so plain dicts are the truth);
- ``RedisStore`` when ``REDIS_URL`` is set, so several processes agree. Each process writes
  its own entries with an expiry and refreshes them (``messaging.hub`` heartbeat); entries of
  a process that died without saying goodbye expire by themselves within the TTL.
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
import time
import uuid
import weakref
from collections import deque
from collections.abc import Iterable
from typing import Any

import orjson
from django.conf import settings
from redis.exceptions import RedisError

from chatsite.foundation import redis as redis_client

# What the shared store (and channels-redis) raise while Redis is away.
STORE_ERRORS = (RedisError, OSError, asyncio.TimeoutError)

PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
User = dict[str, Any]  # the ``user`` wire object


ConnKey = int | str  # a user id, or ``address_key(address)``


def address_key(address: str) -> str:
    """The connection-count key of a client address (CHAT_MAX_CONNECTIONS_PER_ADDRESS)."""
    return f"addr:{address}"


def users_sorted(users: Iterable[User]) -> list[User]:
    return sorted(users, key=lambda u: (u["display_name"].lower(), u["id"]))


class LocalStore:
    """Single-process truth: presence, connections and limits in memory."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.present: dict[int, dict[int, User]] = {}
        self._ordered: dict[int, list[User]] = {}  # room -> present users sorted, until a change
        self.connections: dict[ConnKey, set[str]] = {}
        self.hits: dict[str, deque[float]] = {}
        self.claims: dict[str, float] = {}

    async def presence_add(self, room_id: int, user: User) -> None:
        users = self.present.setdefault(room_id, {})
        if users.get(user["id"]) != user:
            users[user["id"]] = user
            self._ordered.pop(room_id, None)

    async def presence_remove(self, room_id: int, user: User) -> None:
        users = self.present.get(room_id)
        if users is not None and users.pop(user["id"], None) is not None:
            self._ordered.pop(room_id, None)
            if not users:
                del self.present[room_id]

    async def presence(self, room_id: int, limit: int) -> tuple[int, list[User]]:
        # Every join asks; sorting a big room's users for each would cost more than the join.
        users = self.present.get(room_id, {})
        ordered = self._ordered.get(room_id)
        if ordered is None:
            ordered = self._ordered[room_id] = users_sorted(users.values())
        return len(users), ordered[:limit]

    def online_counts(self, room_ids: list[int]) -> dict[int, int]:
        return {room_id: len(self.present.get(room_id, ())) for room_id in room_ids}

    async def connection_open(self, user_id: ConnKey, conn_id: str) -> int:
        conns = self.connections.setdefault(user_id, set())
        conns.add(conn_id)
        return len(conns)

    async def connection_close(self, user_id: ConnKey, conn_id: str) -> None:
        conns = self.connections.get(user_id)
        if conns is not None:
            conns.discard(conn_id)
            if not conns:
                del self.connections[user_id]

    async def rate_hit(self, key: str, limit: int, window: float) -> float | None:
        """Count one hit; None if allowed, else seconds until the next would be."""
        now = time.monotonic()
        hits = self.hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return hits[0] + window - now
        hits.append(now)
        return None

    async def claim(self, key: str, seconds: float) -> bool:
        now = time.monotonic()
        if self.claims.get(key, 0.0) > now:
            return False
        if len(self.claims) > 10_000:  # forget stale claims now and then
            self.claims = {k: v for k, v in self.claims.items() if v > now}
        self.claims[key] = now + seconds
        return True

    async def refresh(
        self, presence: Iterable[tuple[int, User]], conns: Iterable[tuple[ConnKey, str]]
    ) -> None:
        """Nothing expires in one process."""

    async def aclose(self) -> None:
        pass


_RATE_SCRIPT = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, math.ceil(window * 1000))
  return '-1'
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


class RedisStore:
    """Presence and limits shared by every process through Redis sorted sets.

    A presence entry is ``<process>|<user id>|<user json>`` scored with its expiry time, so
    a room's online users are the distinct user ids among unexpired entries.
    """

    prefix = "chat:"

    def __init__(self, url: str) -> None:
        self.redis = redis_client.async_client(url)  # a URL, or following Sentinel
        self.rate_script = self.redis.register_script(_RATE_SCRIPT)
        self.ttl = _presence_ttl()
        # A key whose every entry a dead process left behind goes away by itself: each write
        # of an entry (first or refresh) renews its key's expiry.
        self.key_ttl = math.ceil(self.ttl * 2)

    def _expiry(self) -> float:
        # Refreshed every TTL/4 (hub heartbeat): a dead process's entries are gone, and
        # noticed by the next sweep, within the TTL.
        return time.time() + self.ttl * 2 / 3

    def _member(self, user: User) -> bytes:
        return f"{PROCESS_ID}|{user['id']}|".encode() + orjson.dumps(user)

    async def presence_add(self, room_id: int, user: User) -> None:
        await self.redis.zadd(
            f"{self.prefix}presence:{room_id}", {self._member(user): self._expiry()}
        )

    async def presence_remove(self, room_id: int, user: User) -> None:
        await self.redis.zrem(f"{self.prefix}presence:{room_id}", self._member(user))

    async def presence(self, room_id: int, limit: int) -> tuple[int, list[User]]:
        key = f"{self.prefix}presence:{room_id}"
        members = await self.redis.zrangebyscore(key, time.time(), "+inf")
        users = _decode_presence(members)
        return len(users), users_sorted(users.values())[:limit]

    async def connection_open(self, user_id: ConnKey, conn_id: str) -> int:
        key = f"{self.prefix}conns:{user_id}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", time.time())
            pipe.zadd(key, {f"{PROCESS_ID}|{conn_id}": self._expiry()})
            pipe.zcard(key)
            pipe.expire(key, self.key_ttl)
            result = await pipe.execute()
        return int(result[2])

    async def connection_close(self, user_id: ConnKey, conn_id: str) -> None:
        await self.redis.zrem(f"{self.prefix}conns:{user_id}", f"{PROCESS_ID}|{conn_id}")

    async def rate_hit(self, key: str, limit: int, window: float) -> float | None:
        wait = float(
            await self.rate_script(
                keys=[f"{self.prefix}rate:{key}"],
                args=[time.time(), window, limit, uuid.uuid4().hex],
            )
        )
        return None if wait < 0 else max(wait, 0.0)

    async def claim(self, key: str, seconds: float) -> bool:
        return bool(
            await self.redis.set(f"{self.prefix}claim:{key}", 1, nx=True, px=int(seconds * 1000))
        )

    async def refresh(
        self, presence: Iterable[tuple[int, User]], conns: Iterable[tuple[ConnKey, str]]
    ) -> None:
        """Renew this process's entries, and their keys' expiry: a key that lapsed (Redis was
        away longer than the TTL, or restarted) is made again with one, never without."""
        expiry = self._expiry()
        async with self.redis.pipeline(transaction=False) as pipe:
            for room_id, user in presence:
                key = f"{self.prefix}presence:{room_id}"
                pipe.zadd(key, {self._member(user): expiry})
                pipe.expire(key, self.key_ttl)
            for user_id, conn_id in conns:
                key = f"{self.prefix}conns:{user_id}"
                pipe.zadd(key, {f"{PROCESS_ID}|{conn_id}": expiry})
                pipe.expire(key, self.key_ttl)
            await pipe.execute()

    async def aclose(self) -> None:
        await self.redis.aclose()


def _decode_presence(members: Iterable[object]) -> dict[int, User]:
    """Distinct users among presence entries (``zrangebyscore`` without scores: bytes)."""
    users: dict[int, User] = {}
    for member in members:
        if not isinstance(member, bytes):
            raise TypeError(f"a presence entry should be bytes, not {member!r}")
        _, user_id, user_json = member.split(b"|", 2)
        users.setdefault(int(user_id), orjson.loads(user_json))
    return users


_local = LocalStore()
_redis_stores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RedisStore] = (
    weakref.WeakKeyDictionary()
)


def _presence_ttl() -> float:
    return settings.CHAT["PRESENCE_TTL"]


def _redis_url() -> str:
    """``settings.CHAT["REDIS_URL"]``, "" when the embedded default (no Redis) is in use."""
    return settings.CHAT["REDIS_URL"]


def get_store() -> LocalStore | RedisStore:
    """The store for the running event loop (Redis clients belong to one loop)."""
    url = _redis_url()
    if not url:
        return _local
    loop = asyncio.get_running_loop()
    store = _redis_stores.get(loop)
    if store is None:
        store = _redis_stores[loop] = RedisStore(url)
    return store


_sync_clients: dict[str, Any] = {}


def online_counts(room_ids: list[int]) -> dict[int, int]:
    """Distinct users present per room, for the HTTP API (synchronous)."""
    url = _redis_url()
    if not url or not room_ids:
        return _local.online_counts(room_ids)
    client = _sync_client(url)
    now = time.time()
    with client.pipeline(transaction=False) as pipe:
        for room_id in room_ids:
            pipe.zrangebyscore(f"{RedisStore.prefix}presence:{room_id}", now, "+inf")
        results = pipe.execute()
    return {
        room_id: len(_decode_presence(members))
        for room_id, members in zip(room_ids, results, strict=True)
    }


def users_present(room_id: int) -> set[int]:
    """Ids of the users with a connection joined to ``room_id`` on any process (synchronous,
    for the task worker). Without Redis only this process's connections are known: the
    embedded default runs its worker in the server process for this reason."""
    url = _redis_url()
    if not url:
        return set(list(_local.present.get(room_id, {})))
    client = _sync_client(url)
    members = client.zrangebyscore(f"{RedisStore.prefix}presence:{room_id}", time.time(), "+inf")
    return set(_decode_presence(members))


def _sync_client(url: str) -> Any:
    client = _sync_clients.get(url)
    if client is None:
        client = _sync_clients[url] = redis_client.sync_client(url)
    return client


def reset_local() -> None:
    """For tests: forget everything the in-process store holds."""
    _local.reset()
