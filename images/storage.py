"""Where image bytes live (Django's ``STORAGES["default"]``) and how they are reached: only
through signed, expiring URLs.

On the file system a URL is ``/media/<name>?e=<expiry>&s=<signature>``, checked by
``images.views.media_serve``; on S3-compatible storage it is the storage's presigned URL.
Expiry is rounded up to a time bucket: every URL of a file signed within one bucket is the
same string, so a frame encoded once is right for every receiver, the recent-frames replay
can reuse it, and a browser's cache of the image holds across page loads. A URL is valid for
at least ``MEDIA_URL_TTL`` and at most one bucket more.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.signing import Signer
from django.db import transaction
from django.utils.crypto import constant_time_compare
from django.utils.http import urlencode

if TYPE_CHECKING:  # Pillow is loaded by whoever processes, not by whoever signs a URL
    from images.processing import Processed

SALT = "images.media-url"


def image_save(*, processed: Processed, prefix: str) -> tuple[str, str]:
    """Store an image and its thumbnail under fresh names; their names in the storage."""
    storage = storages["default"]
    stem = f"{prefix}/{time.strftime('%Y/%m')}/{uuid.uuid4().hex}"
    name = storage.save(stem + processed.extension, ContentFile(processed.image))
    try:
        thumb = storage.save(stem + "-thumb" + processed.extension, ContentFile(processed.thumb))
    except BaseException:
        storage.delete(name)  # no file without its row
        raise
    return name, thumb


def files_delete(names: Iterable[str]) -> None:
    storage = storages["default"]
    for name in names:
        if name:
            storage.delete(name)


def files_delete_on_commit(names: Iterable[str]) -> None:
    """Delete stored files once the transaction that stopped using them commits (a rollback
    keeps them, as it keeps the rows naming them)."""
    names = [name for name in names if name]
    if names:
        transaction.on_commit(lambda: files_delete(names))


def url_expiry(now: float | None = None) -> int:
    ttl = settings.CHAT["MEDIA_URL_TTL"]
    bucket = max(60, ttl // 24)
    now = time.time() if now is None else now
    return (int(now) // bucket + 1) * bucket + ttl


def _signature(name: str, expiry: int) -> str:
    return Signer(salt=SALT).signature(f"{name}\n{expiry}")


def signed_url(name: str) -> str:
    """The URL a client fetches ``name`` with (see the module's docstring)."""
    if settings.MEDIA_STORAGE == "s3":
        return storages["default"].url(name)
    expiry = url_expiry()
    query = urlencode({"e": str(expiry), "s": _signature(name, expiry)})
    return f"{settings.MEDIA_URL}{name}?{query}"


def signature_valid(*, name: str, expiry: str, signature: str, now: float | None = None) -> bool:
    """The URL's signature is ours and it has not expired."""
    if not expiry.isdigit() or int(expiry) < (time.time() if now is None else now):
        return False
    return constant_time_compare(signature, _signature(name, int(expiry)))
