"""The production stack (make prod-up) runs the task worker as its own process: prod-status
shows it, and a direct message sent over wss:// through nginx is pushed by it (PostgreSQL,
Redis presence, DJANGO_ENV=production with the stack's VAPID key)."""

import json
import ssl
import urllib.request

import pytest

from tests.e2e.site import recv, send, ws_open
from tests.e2e.test_stack import stack  # noqa: F401  (the fixture)
from tests.notifications.pushservice import PushService

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def push_service(monkeypatch):
    """Before ``stack``: its processes read these from the environment."""
    with PushService() as service:
        monkeypatch.setenv("CHAT_PUSH_ENDPOINTS", f"{service.base_url}/push/")
        monkeypatch.setenv("CHAT_PUSH_DELAY", "0.2")
        yield service


def call(running, context, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"https://localhost:{running.https_port}{path}", data=data, method=method
    )
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        return json.loads(response.read() or b"null")


async def test_the_stack_runs_the_task_worker_and_it_pushes(push_service, stack, capsys):  # noqa: F811
    stack.status()
    assert any(line.split()[:2] == ["tasks", "up"] for line in capsys.readouterr().out.splitlines())
    context = ssl.create_default_context(cafile=str(stack.dir / "tls/cert.pem"))
    owner = call(stack, context, "POST", "/api/auth/guest/")
    borrower = call(stack, context, "POST", "/api/auth/guest/")
    listing = call(stack, context, "POST", "/api/listings/", {"title": "Tent"}, owner["access"])
    room = call(
        stack, context, "POST", f"/api/listings/{listing['id']}/chat/", None, borrower["access"]
    )
    subscription = push_service.browser("phone").subscription(push_service.base_url)
    call(stack, context, "POST", "/api/push/subscriptions/", subscription, owner["access"])
    ws = await ws_open(
        f"wss://localhost:{stack.https_port}/ws/chat/",
        borrower["access"],
        origin=f"https://localhost:{stack.https_port}",
        ssl=context,
    )
    await send(ws, type="join", room=room["id"])
    await recv(ws, "joined")
    await send(ws, type="send", room=room["id"], body="Free tomorrow?", client_id="s1")
    await recv(ws, "ack")
    await ws.close()
    push_service.wait(lambda s: len(s.delivered("phone")) == 1, timeout=30)
    payload = push_service.delivered("phone")[0].payload
    assert payload["body"] == "Free tomorrow?"
    assert payload["url"].startswith(f"https://localhost:{stack.https_port}/rooms/{room['id']}/")
