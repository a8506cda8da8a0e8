import pytest

from tests.e2e.site import migrate, site_env
from tests.servers import start_server


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def server_site(request, tmp_path_factory):
    """One server process on SQLite and the in-memory layer, under each supported server:
    Daphne (the embedded default) and uvicorn (production, ``chatsite.serve``)."""
    tmp = tmp_path_factory.mktemp("site")
    env = site_env(tmp, CHAT_OUTBOX_MAX_BYTES=str(256 * 1024))
    migrate(env)
    server = start_server(request.param, env, tmp / f"{request.param}.log")
    server.env = env
    yield server
    server.stop()
