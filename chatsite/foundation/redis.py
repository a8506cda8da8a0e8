"""Redis connections that follow the primary: a plain URL, or Redis Sentinel.

One string names the Redis everything shares (``settings.CHAT["REDIS_URL"]``: presence,
limits, the cache; the channel layer is configured from the same settings): either
``redis://…`` or, when ``REDIS_SENTINELS`` is set, ``redis+sentinel://[:password@]host:port,
host:port/<master name>/<db>``. With Sentinel every connection is made through redis-py's
``SentinelConnectionPool``: it asks the sentinels for the current primary whenever it
connects, and a connection that breaks (the primary died) or finds itself on a replica (a
demoted primary) is dropped, so the next command reaches the promoted one.

The cache: Django's ``RedisCache`` takes a URL and knows no Sentinel, so
``SentinelRedisCache`` is it with one change, its connection pool (reads and writes both
go to the primary: a snapshot's invalidation must be read back at once, which a lagging
replica would not do). redis-py's own Sentinel support, which channels-redis uses too,
rather than django-redis's ``SentinelClient``: no second Redis client library and cache
backend beside Django's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

SENTINEL_SCHEME = "redis+sentinel://"
TIMEOUTS = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}


@dataclass(frozen=True)
class SentinelTarget:
    sentinels: list[tuple[str, int]]
    master: str
    db: int = 0
    password: str | None = None


def sentinel_url(sentinels: list[str], master: str, db: int = 0, password: str = "") -> str:
    """The ``redis+sentinel://`` URL for ``host:port`` sentinels watching ``master``."""
    auth = f":{password}@" if password else ""
    return f"{SENTINEL_SCHEME}{auth}{','.join(sentinels)}/{master}/{db}"


def parse_sentinel_url(url: str) -> SentinelTarget | None:
    """The sentinels, primary's name and db of a ``redis+sentinel://`` URL; None for any
    other URL."""
    if not url.startswith(SENTINEL_SCHEME):
        return None
    rest = url[len(SENTINEL_SCHEME) :]
    auth, _, rest = rest.rpartition("@")
    hosts, _, path = rest.partition("/")
    master, _, db = path.partition("/")
    sentinels = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":")
        sentinels.append((host or "127.0.0.1", int(port or 26379)))
    password = unquote(auth.partition(":")[2]) if auth else None
    return SentinelTarget(sentinels, master or "mymaster", int(db or 0), password or None)


def async_client(url: str) -> Any:
    """A ``redis.asyncio.Redis`` for ``url`` (plain, or following the Sentinel primary)."""
    import redis.asyncio as aredis
    from redis.asyncio.sentinel import Sentinel

    return _client(url, aredis.Redis, Sentinel)


def sync_client(url: str) -> Any:
    """A ``redis.Redis`` for ``url`` (plain, or following the Sentinel primary)."""
    import redis
    from redis.sentinel import Sentinel

    return _client(url, redis.Redis, Sentinel)


def _client(url: str, redis_class: Any, sentinel_class: Any) -> Any:
    target = parse_sentinel_url(url)
    if target is None:
        return redis_class.from_url(url)
    sentinel = sentinel_class(target.sentinels, sentinel_kwargs=TIMEOUTS, **TIMEOUTS)
    return sentinel.master_for(target.master, db=target.db, password=target.password)


def channel_layer_host(url: str) -> str | dict[str, Any]:
    """channels-redis's ``hosts`` entry for ``url``: the URL itself, or its Sentinel form
    (``sentinels``, ``master_name``; the rest is passed to the connection pool)."""
    target = parse_sentinel_url(url)
    if target is None:
        return url
    host: dict[str, Any] = {
        "sentinels": target.sentinels,
        "master_name": target.master,
        "db": target.db,
        "sentinel_kwargs": TIMEOUTS,
        **TIMEOUTS,
    }
    if target.password:
        host["password"] = target.password
    return host


class SentinelCacheClient(RedisCacheClient):
    """Django's Redis cache client, its one pool a Sentinel-managed pool of the primary."""

    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        # RedisCache split LOCATION at its commas (a list of servers): one URL here.
        target = parse_sentinel_url(",".join(servers))
        if target is None:
            raise ValueError(f"SentinelRedisCache needs a {SENTINEL_SCHEME} LOCATION")
        self._target = target
        self._options = options  # socket timeouts and the like, for the pool
        self._primary: Any = None

    def _get_connection_pool_index(self, write: bool) -> int:
        return 0  # the primary, for reads too

    def _get_connection_pool(self, write: bool) -> Any:
        if self._primary is None:
            from redis.sentinel import Sentinel, SentinelConnectionPool

            target = self._target
            sentinel = Sentinel(target.sentinels, sentinel_kwargs=TIMEOUTS)
            self._primary = SentinelConnectionPool(
                target.master,
                sentinel,
                db=target.db,
                password=target.password,
                **{**TIMEOUTS, **self._options},
            )
        return self._primary


class SentinelRedisCache(RedisCache):
    """``RedisCache`` whose ``LOCATION`` is a ``redis+sentinel://`` URL."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SentinelCacheClient
