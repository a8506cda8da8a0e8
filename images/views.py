"""Serving stored images by signed URL (file-system storage; S3 serves its own)."""

from __future__ import annotations

import mimetypes
import time

from django.conf import settings
from django.core.files.storage import storages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.http import require_GET

from images.storage import signature_valid


@require_GET
def media_serve(request: HttpRequest, name: str) -> HttpResponse | FileResponse:
    """The file if the URL's signature is ours and not expired, else 403.

    Behind nginx (``MEDIA_ACCEL_REDIRECT`` set) the answer is only headers: nginx sends the
    bytes from its internal location, and this process never reads the file.
    """
    expiry, signature = request.GET.get("e", ""), request.GET.get("s", "")
    if not signature_valid(name=name, expiry=expiry, signature=signature):
        return HttpResponseForbidden("This link has expired or is not valid.")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    headers = {
        "Content-Type": content_type,
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": "inline",
        # The bytes behind a name never change: the browser keeps them until the URL expires.
        "Cache-Control": f"private, max-age={max(0, int(expiry) - int(time.time()))}, immutable",
    }
    if settings.MEDIA_ACCEL_REDIRECT:
        headers["X-Accel-Redirect"] = settings.MEDIA_ACCEL_REDIRECT + name
        return HttpResponse(headers=headers)
    storage = storages["default"]
    if ".." in name.split("/") or not storage.exists(name):
        raise Http404("No such file.")
    response = FileResponse(storage.open(name, "rb"), headers=headers)
    response["Content-Type"] = content_type  # FileResponse sets both from the file's name
    response["Content-Disposition"] = "inline"
    return response
