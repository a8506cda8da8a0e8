import os

import pytest
from channels.layers import channel_layers
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import guest_create, tokens_for_user
from messaging import ephemeral
from moderation import rules
from tests.servers import start_postgres, start_redis

USE_POSTGRES = os.environ.get("TEST_DATABASE") == "postgresql"


def waiting_on_a_lock() -> int:
    """Backends of the test database waiting for a lock now (PostgreSQL): how a test with
    threads sees that one of them is blocked on another's row."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs():
    """``make`` compiles locale/ (issue 15); a bare pytest run compiles what is stale."""
    from ops.messages import compile_if_stale

    compile_if_stale()


@pytest.fixture(scope="session")
def postgres_server():
    server = start_postgres()
    yield server
    server.remove()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request):
    """With TEST_DATABASE=postgresql the whole suite runs on a throwaway PostgreSQL."""
    if USE_POSTGRES:
        from django.conf import settings

        server = request.getfixturevalue("postgres_server")
        settings.DATABASES["default"].update(
            HOST="127.0.0.1", PORT=str(server.port), USER=server.user
        )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """Close what asgiref's thread-sensitive thread (where async code runs its database
    work, outside any request) still holds, so the test database can be dropped: pytest-django
    closes only the main thread's connections."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


@pytest.fixture(scope="session")
def redis_server():
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_state(settings):
    """Every test starts with an empty cache, presence store and channel layer, and no
    compiled content rules. Guests mint without the puzzle (its own tests turn it on)."""
    settings.CHAT = {**settings.CHAT, "GUEST_POW_BITS": 0}
    rules.invalidate()
    cache.clear()
    ephemeral.reset_local()
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def make_guest():
    def make():
        user = guest_create()
        return user, tokens_for_user(user=user)

    return make


@pytest.fixture
def guest_client(make_guest):
    """An APIClient authenticated as a fresh guest; ``client.user`` is the guest."""

    def make():
        user, tokens = make_guest()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        client.user, client.tokens = user, tokens
        return client

    return make
