"""``images.pool``: processing in a few worker processes at a lower priority than the server,
a bounded wait in front of them, and a killed worker replaced (nothing half-stored)."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from chatsite.foundation.errors import Unavailable
from images import pool as pool_module
from images import processing
from images.pool import ImagePool, image_pool
from messaging.models import Attachment
from tests.factories import PublicRoomFactory
from tests.images import samples, workers
from tests.images.conftest import stored_files

pytestmark = pytest.mark.django_db


def proc_stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_ticks(pid: int) -> int:
    fields = proc_stat(pid)
    return int(fields[11]) + int(fields[12])  # utime + stime


def upload(client, room_id, data):
    return client.post(
        f"/api/rooms/{room_id}/attachments/",
        {"file": samples.upload(data)},
        format="multipart",
    )


def test_processing_runs_in_a_worker_niced_below_the_server(guest_client):
    client, room = guest_client(), PublicRoomFactory()
    assert upload(client, room.id, samples.jpeg()).status_code == 201  # the pool is up
    (pid,) = image_pool().worker_pids()
    assert pid != os.getpid()
    assert int(proc_stat(pid)[16]) >= min(19, os.nice(0) + pool_module.NICE)  # field 19: nice
    before = cpu_ticks(pid)
    photo = samples.jpeg(2400, 1800, noise=True)  # ~0.1 s of decoding and encoding
    assert upload(client, room.id, photo).status_code == 201
    assert cpu_ticks(pid) > before  # the work was done there, not in this process


def test_a_killed_worker_is_replaced_and_the_upload_succeeds(guest_client):
    client, room = guest_client(), PublicRoomFactory()
    assert upload(client, room.id, samples.jpeg()).status_code == 201
    (pid,) = image_pool().worker_pids()
    os.kill(pid, signal.SIGKILL)
    response = upload(client, room.id, samples.jpeg())
    assert response.status_code == 201, response.content
    (replacement,) = image_pool().worker_pids()
    assert replacement != pid


def test_a_worker_dying_on_an_image_is_a_clear_503_and_nothing_is_stored(
    guest_client, monkeypatch, media_root
):
    client, room = guest_client(), PublicRoomFactory()
    monkeypatch.setattr(processing, "image_work", workers.die)
    response = upload(client, room.id, samples.jpeg())
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable" and response["Retry-After"]
    assert not Attachment.objects.exists() and stored_files(media_root) == []
    monkeypatch.undo()
    assert upload(client, room.id, samples.jpeg()).status_code == 201  # a fresh pool


def test_uploads_past_the_workers_wait_and_past_the_queue_are_refused(
    tmp_path, monkeypatch, guest_client, settings, media_root
):
    pool = ImagePool(workers=1, queue=1)
    monkeypatch.setattr(pool_module, "_pool", pool)  # this process's pool, for the API too
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    held = os.open(gate, os.O_RDWR)  # both ends held here: no open blocks, no write breaks
    results: list[object] = []

    def run() -> None:
        try:
            results.append(pool.run(workers.wait_for, str(gate)))
        except Unavailable as exc:
            results.append(exc)

    def until(condition) -> None:
        while not condition():  # a state of the pool, polled: not a guess at a time
            threading.Event().wait(0.01)

    try:
        running = threading.Thread(target=run)
        running.start()
        until(lambda: pool._running == 1)
        waiting = threading.Thread(target=run)
        waiting.start()
        until(pool.busy)  # one in the worker, one waiting
        with pytest.raises(Unavailable) as refused:
            pool.run(workers.niceness)
        assert refused.value.status == 503 and refused.value.retry_after
        # Over HTTP: 503 before the body is read, and the upload not counted against the user.
        settings.CHAT = {**settings.CHAT, "UPLOAD_RATE": 1}
        client, room = guest_client(), PublicRoomFactory()
        response = upload(client, room.id, samples.jpeg())
        assert response.status_code == 503 and response.json()["code"] == "unavailable"
        assert int(response["Retry-After"]) == pool_module.RETRY_AFTER
        assert not Attachment.objects.exists() and stored_files(media_root) == []
        os.write(held, b"x")
        running.join(30)
        os.write(held, b"x")  # the one that waited now runs
        waiting.join(30)
        assert len(results) == 2 and all(isinstance(r, int) for r in results), results
        assert not pool.busy()
        _pid, nice = pool.run(workers.niceness)
        assert nice >= min(19, os.nice(0) + pool_module.NICE)
        assert upload(client, room.id, samples.jpeg()).status_code == 201  # rate not spent
    finally:
        os.write(held, b"xx")  # whatever still waits at the gate (a failed assertion)
        pool.close()
        os.close(held)


def test_workers_exit_when_their_server_is_killed(tmp_path):
    """A server killed outright (no shutdown of its pool): its workers go too."""
    script = (
        "import os, django; django.setup()\n"
        "from images.pool import ImagePool\n"
        "from tests.images import workers\n"
        "pid, _ = ImagePool(workers=1, queue=0).run(workers.niceness)\n"
        "print(pid, flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "chatsite.settings"}
    server = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert server.returncode == -signal.SIGKILL, server.stderr
    worker = int(server.stdout.split()[0])

    def running() -> bool:
        try:
            return proc_stat(worker)[0] != "Z"  # a zombie has exited
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 20
    while running() and time.monotonic() < deadline:  # the worker checks once a second
        threading.Event().wait(0.1)
    if running():
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the worker outlived its server")
