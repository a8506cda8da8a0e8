import pytest

from tests.e2e.site import migrate, site_env
from tests.servers import start_daphne


@pytest.fixture(scope="module")
def daphne_site(tmp_path_factory):
    """One Daphne process on SQLite and the in-memory layer: the embedded default."""
    tmp = tmp_path_factory.mktemp("site")
    env = site_env(tmp, CHAT_OUTBOX_MAX_BYTES=str(256 * 1024))
    migrate(env)
    server = start_daphne(env, tmp / "daphne.log")
    server.env = env
    yield server
    server.stop()
