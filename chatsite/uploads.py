"""Image uploads get their own ASGI path: a bounded body and a thread of their own.

``SharedThreadASGIHandler`` runs every ordinary request on the process's one sync thread,
beside the WebSocket's database calls; an upload waiting for its image to be processed
(``images.pool``: a niced worker process, after a bounded wait) there would stall every
socket of the process. Upload requests instead go to Django's stock ``ASGIHandler``, which
gives each request its own thread: it parses the body and waits there.

The body is bounded before Django sees it: a declared ``Content-Length`` over the limit is
answered 413 without reading any of it, and a body without one is counted as it arrives and
refused at the limit (memory stays bounded anyway: Django spools the body to a temporary
file past ``FILE_UPLOAD_MAX_MEMORY_SIZE``).
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler

from chatsite.foundation.wire import encode
from images.uploads import body_limit, too_large

WRITE_BATCH = 1024 * 1024
UPLOAD_PATHS = re.compile(r"^/api/(rooms/\d+/attachments|listings/\d+/photo)/$")


class BodyTooLarge(Exception):
    pass


class UploadASGIHandler(ASGIHandler):
    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        limit = body_limit()
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send)
            return
        received = 0

        async def counted() -> dict[str, Any]:
            nonlocal received
            message: dict[str, Any] = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge()
            return message

        try:
            await super().handle(scope, counted, send)
        except BodyTooLarge:
            await _refuse(send)

    async def read_body(self, receive: Any) -> Any:
        """Django's, with the disk writes off the event loop: past
        ``FILE_UPLOAD_MAX_MEMORY_SIZE`` the body goes to a temporary file, and a write there
        may wait on the disk (the kernel throttles writers when much is dirty) — on the
        loop that stalled every socket of the process. Chunks are gathered up to
        ``WRITE_BATCH`` and written by a thread."""
        body_file = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (returned open, as Django does)
            max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b"
        )
        pending: list[bytes] = []
        size = 0
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise RequestAborted()
                chunk = message.get("body", b"")
                if chunk:
                    pending.append(chunk)
                    size += len(chunk)
                more = message.get("more_body", False)
                if pending and (size >= WRITE_BATCH or not more):
                    await asyncio.to_thread(body_file.write, b"".join(pending))
                    pending, size = [], 0
                if not more:
                    break
        except BaseException:
            body_file.close()
            raise
        body_file.seek(0)
        return body_file


def _content_length(scope: dict[str, Any]) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Any) -> None:
    body = encode(too_large().as_dict()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
