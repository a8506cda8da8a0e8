import pytest
import redis
from channels.db import database_sync_to_async

from accounts.services import guest_create, tokens_for_user
from messaging.hub import stop_hub
from tests.factories import PublicRoomFactory, UserFactory


@pytest.fixture(params=["memory", "redis"])
def layer(request, settings):
    """Run the test on the in-memory layer, then on production's Redis pub/sub layer
    (``chatsite.layers.PubSubChannelLayer``) with a real Redis."""
    settings.CHAT = {**settings.CHAT, "PRESENCE_COALESCE": 0.05}
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        redis.Redis.from_url(server.url).flushall()
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "chatsite.layers.PubSubChannelLayer",
                "CONFIG": {"hosts": [server.url]},
            }
        }
        settings.CHAT = {**settings.CHAT, "REDIS_URL": server.url}
    return request.param


@pytest.fixture
async def hub_cleanup():
    yield
    await stop_hub()


@pytest.fixture
def person():
    """``await person()``: a new guest (or a user with ``fields``) holding ``.access``."""

    @database_sync_to_async
    def make(**fields):
        user = UserFactory(**fields) if fields else guest_create()
        user.access = tokens_for_user(user=user)["access"]
        return user

    return make


@pytest.fixture
def room():
    return PublicRoomFactory(name="lobby")
