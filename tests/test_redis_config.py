"""The one Redis URL, plain or Sentinel, and what each client is configured with."""

from chatsite.foundation.redis import (
    SentinelTarget,
    channel_layer_host,
    parse_sentinel_url,
    sentinel_url,
)


def test_a_sentinel_url_round_trips():
    url = sentinel_url(["10.0.0.1:26379", "10.0.0.2:26380"], "chat", db=2, password="p@ss")
    assert parse_sentinel_url(url) == SentinelTarget(
        [("10.0.0.1", 26379), ("10.0.0.2", 26380)], "chat", 2, "p@ss"
    )


def test_a_plain_url_is_used_as_it_is():
    assert parse_sentinel_url("redis://127.0.0.1:6379/0") is None
    assert channel_layer_host("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_channels_redis_gets_its_sentinel_hosts_form():
    host = channel_layer_host(sentinel_url(["h:1"], "m", db=3))
    assert isinstance(host, dict)
    assert (host["sentinels"], host["master_name"], host["db"]) == ([("h", 1)], "m", 3)
