"""Image uploads get their own ASGI path: a bounded body and a thread of their own.

``SharedThreadASGIHandler`` runs every ordinary request on the process's one sync thread,
beside the WebSocket's database calls; an upload waiting for its image to be processed
(``images.pool``: a niced worker process, after a bounded wait) there would stall every
socket of the process. Upload requests instead go to Django's stock ``ASGIHandler``, which
gives each request its own thread: it parses the body and waits there.

The body is bounded before Django sees it (``chatsite.bodies``, at the image limit; memory
stays bounded anyway: Django spools the body to a temporary file past
``FILE_UPLOAD_MAX_MEMORY_SIZE``).
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler

from chatsite.bodies import handle_bounded
from images.uploads import body_limit, too_large

WRITE_BATCH = 1024 * 1024
UPLOAD_PATHS = re.compile(r"^/api/(rooms/\d+/attachments|listings/\d+/photo)/$")


class UploadASGIHandler(ASGIHandler):
    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await handle_bounded(
            super().handle, scope, receive, send, limit=body_limit(), error=too_large()
        )

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
