"""Receiving an image upload: bounded in bytes and memory, rate-limited, then processed.

Memory stays bounded whatever is sent: every file part goes to a temporary file in 64 KiB
chunks (``BoundedUploadHandler``), and the bytes are counted as they arrive, so a body over
``CHAT_UPLOAD_MAX_BYTES`` stops being read at the limit (413 ``too_large``). A declared
``Content-Length`` over the limit is refused before any of the body is read. In front of
Django, ``chatsite.uploads`` applies the same bound to the raw ASGI body, and nginx its
``client_max_body_size``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import HttpRequest
from django.utils.translation import gettext
from rest_framework.request import Request

from chatsite.foundation.errors import BadRequest, RateLimited, TooLarge, UnsupportedMedia
from images.pool import image_pool, image_pool_busy, image_process_pooled
from images.storage import image_save

# Room for the multipart framing around the file (boundaries, part headers, the name).
MULTIPART_SLACK = 16 * 1024
NAME_MAX = 120


def body_limit() -> int:
    """The most a request body carrying one image may have."""
    return settings.CHAT["UPLOAD_MAX_BYTES"] + MULTIPART_SLACK


def too_large() -> TooLarge:
    limit = settings.CHAT["UPLOAD_MAX_BYTES"]
    return TooLarge(
        gettext("An image has at most %(megabytes)s MB.") % {"megabytes": limit // (1024 * 1024)}
    )


class BoundedUploadHandler(TemporaryFileUploadHandler):
    """Django's temporary-file handler, counting: past the limit the upload is refused."""

    def __init__(self, request: HttpRequest | None = None, *, limit: int) -> None:
        super().__init__(request)
        self.limit = limit

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > self.limit:
            raise too_large()
        return super().receive_data_chunk(raw_data, start)


def upload_rate_check(*, user_id: int) -> None:
    """Count one upload of ``user_id``; ``RateLimited`` past ``UPLOAD_RATE`` per
    ``UPLOAD_WINDOW`` seconds (a fixed window in the shared cache: Redis in production)."""
    rate, window = settings.CHAT["UPLOAD_RATE"], settings.CHAT["UPLOAD_WINDOW"]
    now = time.time()
    slot = int(now // window)
    key = f"upload-rate:{user_id}:{slot}"
    cache.add(key, 0, timeout=window + 1)
    if cache.incr(key) > rate:
        wait = max(1, math.ceil((slot + 1) * window - now))
        raise RateLimited(
            gettext("Too many uploads; try again in %(wait)s s.") % {"wait": wait}, retry_after=wait
        )


def upload_file(request: Request) -> UploadedFile:
    """The one ``file`` of a multipart request, in a temporary file (see the module)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > body_limit():
        raise too_large()  # nothing of the body read
    request._request.upload_handlers = [
        BoundedUploadHandler(request._request, limit=settings.CHAT["UPLOAD_MAX_BYTES"])
    ]
    files = request.FILES.getlist("file")
    if len(files) != 1:
        raise BadRequest(gettext("Send one image as the multipart field 'file'."))
    upload = files[0]
    if not upload.size:
        raise UnsupportedMedia(gettext("That file is empty."))
    return upload


@dataclass(frozen=True)
class Ingested:
    """An upload processed and stored: the ``StoredImage`` fields to save with it."""

    fields: dict[str, Any]

    @property
    def files(self) -> list[str]:
        return [self.fields["file"], self.fields["thumb"]]


def image_ingest(*, upload: UploadedFile, prefix: str) -> Ingested:
    """Process ``upload`` in the image pool (``images.pool``: a niced worker process, after
    a bounded wait) and store the result under ``prefix``. Nothing is stored unless the
    processing succeeded; a failure while storing removes what was stored."""
    source: str | bytes = (
        upload.temporary_file_path() if isinstance(upload, TemporaryUploadedFile) else upload.read()
    )
    processed = image_process_pooled(source=source, max_pixels=settings.CHAT["UPLOAD_MAX_PIXELS"])
    file, thumb = image_save(processed=processed, prefix=prefix)
    name = os.path.basename(upload.name or "")[:NAME_MAX] or "image"
    return Ingested(
        {
            "file": file,
            "thumb": thumb,
            "content_type": processed.content_type,
            "bytes": len(processed.image),
            "width": processed.width,
            "height": processed.height,
            "name": name,
        }
    )


def image_pool_check() -> None:
    """``Unavailable`` (503, ``Retry-After``) at once if the image pool's wait is full:
    called before the body is read or the upload counted against the user's rate."""
    if image_pool().busy():
        raise image_pool_busy()
