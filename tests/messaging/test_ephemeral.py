"""The shared store on a real Redis: every key it writes expires, so a dead process's
entries go away by themselves."""

import pytest
import redis

from messaging.ephemeral import RedisStore


@pytest.fixture
async def store(redis_server):
    redis.Redis.from_url(redis_server.url).flushall()
    store = RedisStore(redis_server.url)
    yield store
    await store.aclose()


async def test_a_lapsed_connections_key_is_made_again_with_an_expiry(store):
    key = f"{RedisStore.prefix}conns:7"
    await store.connection_open(7, "tab-1")
    assert await store.redis.ttl(key) > 0
    await store.redis.delete(key)  # lapsed: Redis was away longer than the TTL, or restarted
    await store.refresh([], [(7, "tab-1")])
    assert await store.redis.zcard(key) == 1
    assert 0 < await store.redis.ttl(key) <= store.key_ttl  # -1 would be "never expires"


async def test_a_lapsed_presence_key_is_made_again_with_an_expiry(store):
    key = f"{RedisStore.prefix}presence:3"
    user = {"id": 7, "display_name": "QuietOtter#4821"}
    await store.presence_add(3, user)
    await store.redis.delete(key)
    await store.refresh([(3, user)], [])
    assert await store.presence(3, 50) == (1, [user])
    assert 0 < await store.redis.ttl(key) <= store.key_ttl
