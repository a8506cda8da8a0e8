"""The task worker as a real process beside a real server: a message sent over the
WebSocket is pushed to a loopback push service; a worker SIGKILLed in the middle of a push
is restarted and sends what was pending — nothing twice, nothing lost. And the embedded
default (Daphne alone, no worker started) pushes too."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.site import guest, http, migrate, recv, send, site_env, ws_open
from tests.notifications.mailserver import links, parts, smtp_port, start_smtp
from tests.notifications.pushservice import PushService
from tests.servers import ROOT, start_server

pytestmark = pytest.mark.timeout(120)


def start_worker(
    env: dict[str, str], log: Path, worker_id: str = "test-worker"
) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "chat_worker", "--worker-id", worker_id, "--interval", "0.1"],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k != "TEST_DATABASE"}, **env},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def until(condition, timeout: float = 20.0, what: str = "") -> None:
    """Poll a condition another process makes true (the database file); fail at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.05)


@pytest.fixture
def push_service():
    with PushService() as service:
        yield service


def make_site(tmp: Path, push: PushService, **extra: str):
    env = site_env(
        tmp,
        CHAT_PUSH_ENDPOINTS=f"{push.base_url}/push/",
        CHAT_PUSH_DELAY="0.2",
        CHAT_SITE_URL="https://chat.example.com",
        **extra,
    )
    migrate(env)
    return env


def conversation(base: str, push: PushService, browsers: list[str]) -> tuple[dict, dict, int]:
    """An owner with push subscriptions (one per browser) and a borrower in their room."""
    owner, borrower = guest(base), guest(base)
    status, listing = http(
        "POST", f"{base}/api/listings/", {"title": "Camping tent"}, owner["access"]
    )
    assert status == 201, listing
    status, room = http(
        "POST", f"{base}/api/listings/{listing['id']}/chat/", None, borrower["access"]
    )
    assert status == 201, room
    for name in browsers:
        body = push.browser(name).subscription(push.base_url)
        status, reply = http("POST", f"{base}/api/push/subscriptions/", body, owner["access"])
        assert status == 201, reply
    return owner, borrower, room["id"]


async def say(server, token: str, room: int, body: str) -> None:
    ws = await ws_open(server.ws_url, token)
    try:
        await send(ws, type="join", room=room)
        await recv(ws, "joined", room=room)
        await send(ws, type="send", room=room, body=body, client_id=f"c-{body}")
        await recv(ws, "ack")
    finally:
        await ws.close()


def subscriptions(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [
            row[0] for row in conn.execute("SELECT endpoint FROM notifications_pushsubscription")
        ]


async def test_worker_pushes_and_a_410_removes_the_subscription(tmp_path, push_service):
    env = make_site(tmp_path, push_service, CHAT_TASKS_IN_PROCESS="false")
    server = start_server("uvicorn", env, tmp_path / "server.log")
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        _, borrower, room = conversation(server.http_url, push_service, ["laptop", "phone"])
        await say(server, borrower["access"], room, "Is it free on Saturday?")
        push_service.wait(lambda s: len(s.delivered()) == 2)
        assert push_service.errors == []
        payload = push_service.delivered("laptop")[0].payload
        assert payload["body"] == "Is it free on Saturday?"
        assert payload["url"].startswith(f"https://chat.example.com/rooms/{room}/?message=")
        assert payload["title"] == f"{borrower['user']['display_name']} · Camping tent"

        push_service.gone_once.add("phone")
        await say(server, borrower["access"], room, "Hello?")
        push_service.wait(lambda s: len(s.delivered("laptop")) == 2)
        push_service.wait(lambda s: any(r.answered == 410 for r in s.received))
        until(
            lambda: (
                subscriptions(tmp_path / "db.sqlite3") == [f"{push_service.base_url}/push/laptop"]
            ),
            what="410 cleanup",
        )
    finally:
        worker.terminate()
        worker.wait(10)
        server.stop()


async def test_a_worker_killed_mid_push_sends_nothing_twice_and_loses_nothing(
    tmp_path, push_service
):
    env = make_site(tmp_path, push_service, CHAT_TASKS_IN_PROCESS="false")
    server = start_server("uvicorn", env, tmp_path / "server.log")
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        _, borrower, room = conversation(server.http_url, push_service, ["first", "second"])
        push_service.hold.add("second")  # the push service holds this request…
        await say(server, borrower["access"], room, "Deal?")
        assert push_service.held.wait(20), push_service.received
        worker.send_signal(signal.SIGKILL)  # …until the worker is killed in the middle of it
        worker.wait(10)
        push_service.release.set()
        push_service.wait(
            lambda s: any(r.name == "second" and r.completed is False for r in s.received)
        )
        assert len(push_service.delivered("first")) == 1
        assert push_service.delivered("second") == []

        # The same worker slot starts again: it puts back the task it was running.
        worker = start_worker(env, tmp_path / "worker.log")
        push_service.wait(lambda s: len(s.delivered("second")) == 1)
        await say(server, borrower["access"], room, "After the restart")  # and carries on
        push_service.wait(lambda s: len(s.delivered()) == 4)
        bodies = [(r.name, r.payload["body"]) for r in push_service.delivered()]
        assert sorted(bodies) == sorted(
            [
                ("first", "Deal?"),
                ("second", "Deal?"),
                ("first", "After the restart"),
                ("second", "After the restart"),
            ]
        )
        assert push_service.errors == []
    finally:
        worker.terminate()
        worker.wait(10)
        server.stop()


async def test_the_embedded_default_pushes_with_no_worker_started(tmp_path, push_service):
    env = make_site(tmp_path, push_service)  # CHAT_TASKS_IN_PROCESS defaults on without Redis
    server = start_server("daphne", env, tmp_path / "server.log")
    try:
        _, borrower, room = conversation(server.http_url, push_service, ["laptop"])
        await say(server, borrower["access"], room, "Anyone home?")
        push_service.wait(lambda s: len(s.delivered("laptop")) == 1)
    finally:
        server.stop()


async def test_a_worker_killed_mid_email_sends_the_digest_once(tmp_path, push_service):
    controller, inbox = start_smtp()
    try:
        env = make_site(
            tmp_path,
            push_service,
            CHAT_TASKS_IN_PROCESS="false",
            CHAT_EMAIL_DELAY="0",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp_port(controller)),
        )
        server = start_server("uvicorn", env, tmp_path / "server.log")
        worker = start_worker(env, tmp_path / "worker.log")
        try:
            base = server.http_url
            owner, borrower, room = conversation(base, push_service, [])
            status, _ = http(
                "POST",
                f"{base}/api/auth/claim/",
                {"username": "lender", "password": "a-long-password-1"},
                owner["access"],
            )
            assert status == 200
            status, _ = http(
                "PATCH", f"{base}/api/me/settings/", {"email": "l@example.com"}, owner["access"]
            )
            assert status == 200
            (verification,) = inbox.wait(1)
            link = next(u for u in links(parts(verification)[0]) if "/email/verify/" in u)
            page = await asyncio.to_thread(fetch_page, base + urlsplit(link).path)
            assert b'data-outcome="verified"' in page
            _, prefs = http("GET", f"{base}/api/me/settings/", token=owner["access"])
            assert prefs["email_verified"] is True

            inbox.hold = "unread"  # the digest's SMTP DATA is held…
            await say(server, borrower["access"], room, "Is it free?")
            assert await asyncio.to_thread(inbox.held.wait, 20)
            worker.send_signal(signal.SIGKILL)  # …and the worker killed in the middle of it
            worker.wait(10)
            inbox.release.set()
            with inbox.changed:
                assert inbox.changed.wait_for(lambda: len(inbox.dropped) == 1, 20)
            assert len(inbox.messages) == 1  # only the verification

            worker = start_worker(env, tmp_path / "worker.log")
            inbox.wait(2)
            digest = inbox.messages[1]
            assert "Is it free?" in parts(digest)[0]
            # Nothing more comes: the restarted worker has no task left (poll its queue).
            until(lambda: tasks_left(tmp_path / "db.sqlite3") == 0, what="the queue drains")
            assert len(inbox.messages) == 2
        finally:
            worker.terminate()
            worker.wait(10)
            server.stop()
    finally:
        controller.stop()


def fetch_page(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as page:
        return page.read()


def tasks_left(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM django_tasks_database_dbtaskresult"
            " WHERE status IN ('READY', 'RUNNING') AND run_after <= datetime('now', '+1 minute')"
        ).fetchone()
    return count
