"""Response headers every page and API answer carries (settings.MIDDLEWARE).

- ``Content-Security-Policy`` on every response: scripts, styles and connections only from
  this origin (WebSockets to this host; images also from an S3 storage's origin,
  ``CSP_IMG_SOURCES``), no inline script, no plugins, not framed. Refresh
  tokens live in ``localStorage``: an injected script must have nowhere to run. The
  client's pages load one module each and set no inline style (tested in Chromium).
- ``Cache-Control: no-store`` on ``/api/`` answers: they carry private data (tokens,
  messages, rooms) that no shared or browser cache should keep.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'{styles}; "
    "img-src 'self' data: blob:{images}; "
    "font-src 'self'; connect-src 'self' ws://{host} wss://{host}; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            # Swagger UI's page carries a <style> block of its own; scripts stay strict there.
            styles = " 'unsafe-inline'" if request.path == "/api/docs/" else ""
            images = "".join(f" {origin}" for origin in settings.CSP_IMG_SOURCES)
            response["Content-Security-Policy"] = POLICY.format(
                host=_host(request), styles=styles, images=images
            )
        if request.path.startswith("/api/") and "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        return response


def _host(request: HttpRequest) -> str:
    try:
        return request.get_host()
    except Exception:  # DisallowedHost: the response is an error page anyway
        return "localhost"
