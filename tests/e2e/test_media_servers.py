"""Uploads through the real ASGI servers (Daphne and uvicorn): the body bound in front of
Django, processing on the upload's own thread, and the signed URL served."""

import json
import socket
import urllib.error
import urllib.request

import pytest

from tests.e2e.site import general_room, guest, migrate, site_env
from tests.images import samples
from tests.images.multipart import multipart
from tests.servers import start_server


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def media_site(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("media-site")
    env = site_env(tmp, MEDIA_ROOT=str(tmp / "media"), CHAT_UPLOAD_MAX_BYTES=str(1024 * 1024))
    migrate(env)
    server = start_server(request.param, env, tmp / f"{request.param}.log")
    server.media_root = tmp / "media"
    server.kind = request.param
    yield server
    server.stop()


def post_file(url: str, token: str, data: bytes, name: str = "tent.jpg"):
    body, content_type = multipart("file", name, data, "image/jpeg")
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", content_type)
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_an_upload_is_processed_and_its_signed_url_served(media_site):
    base = media_site.http_url
    token = guest(base)["access"]
    room = general_room(base, token)
    status, body = post_file(f"{base}/api/rooms/{room}/attachments/", token, samples.jpeg(gps=True))
    assert status == 201, body
    with urllib.request.urlopen(base + body["url"], timeout=10) as response:
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.read()[:3] == b"\xff\xd8\xff"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(base + body["url"].replace("s=", "s=x"), timeout=10)
    assert refused.value.code == 403
    status, body = post_file(f"{base}/api/rooms/{room}/attachments/", token, samples.SVG)
    assert status == 415 and body["code"] == "unsupported_media"


def test_a_declared_oversized_body_is_refused_before_it_is_sent(media_site):
    """50 MB announced, not a byte of it sent: the answer comes at once (uvicorn, production).
    Daphne, the development server, receives a whole body before it calls the application
    (Twisted spools it to a temporary file), so there the bound applies after the fact."""
    if media_site.kind == "daphne":
        pytest.skip("Daphne reads the whole body before the application runs")
    base = media_site.http_url
    token = guest(base)["access"]
    room = general_room(base, token)
    before = set(media_site.media_root.rglob("*"))
    with socket.create_connection(("127.0.0.1", media_site.port), timeout=10) as sock:
        sock.sendall(
            (
                f"POST /api/rooms/{room}/attachments/ HTTP/1.1\r\nHost: localhost\r\n"
                f"Authorization: Bearer {token}\r\n"
                "Content-Type: multipart/form-data; boundary=x\r\n"
                f"Content-Length: {50 * 1024 * 1024}\r\n\r\n"
            ).encode()
        )
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"413", reply[:300]
    assert json.loads(body)["code"] == "too_large"
    assert set(media_site.media_root.rglob("*")) == before
