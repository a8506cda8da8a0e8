"""S3-compatible storage for images (``MEDIA_STORAGE=s3``): django-storages' ``S3Storage``
with each object's response headers stored with it. Presigned GET URLs then answer with
the stored ``Content-Type``, ``Content-Disposition: inline`` and a long private cache.
(S3 cannot add ``X-Content-Type-Options``; the bytes are re-encoded images with their true
type, which is what ``nosniff`` protects.)"""

from __future__ import annotations

import mimetypes
from typing import Any

from storages.backends.s3 import S3Storage


class MediaS3Storage(S3Storage):
    def get_object_parameters(self, name: str) -> dict[str, Any]:
        params: dict[str, Any] = dict(super().get_object_parameters(name))
        params["ContentType"] = mimetypes.guess_type(name)[0] or "application/octet-stream"
        params["ContentDisposition"] = "inline"
        params["CacheControl"] = "private, max-age=31536000, immutable"
        return params
