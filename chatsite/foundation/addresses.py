"""The client's address as the proxy in front of us forwards it.

With ``NUM_PROXIES`` = n trusted proxies (nginx in production: 1), the client is the n-th
address from the right of ``X-Forwarded-For``; with 0, the peer of the connection. The same
rule as DRF's throttles (``SimpleRateThrottle.get_ident``), for HTTP and WebSocket alike.
"""

from collections.abc import Iterable
from typing import Any

from django.conf import settings


def client_address(*, remote: str | None, forwarded_for: str | None) -> str:
    configured = settings.REST_FRAMEWORK.get("NUM_PROXIES")
    proxies = configured if isinstance(configured, int) else 0
    if proxies and forwarded_for:
        hops = [part.strip() for part in forwarded_for.split(",") if part.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return remote or "unknown"


def address_from_scope(scope: dict[str, Any]) -> str:
    """The client address of an ASGI connection (HTTP or WebSocket)."""
    client = scope.get("client")
    remote = str(client[0]) if client else None
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers") or ()
    forwarded = b",".join(value for name, value in headers if name == b"x-forwarded-for")
    return client_address(remote=remote, forwarded_for=forwarded.decode("latin-1") or None)


def address_from_meta(meta: dict[str, Any]) -> str:
    """The client address of a Django request (``request.META``)."""
    return client_address(
        remote=meta.get("REMOTE_ADDR"), forwarded_for=meta.get("HTTP_X_FORWARDED_FOR")
    )
