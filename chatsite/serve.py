"""The production server: one uvicorn process (``python -m chatsite.serve --port 8001``).

Chosen over Daphne by ``make bench`` (bench/README.md): the same consumer fans out several
times faster under uvicorn's ``websockets-sansio`` protocol on uvloop. Daphne still serves
``runserver`` and ``make run``, and both are tested. Run several of these behind nginx
(``make prod-up``); each is one process on one core.

Settings that matter to the chat are fixed here rather than left to command-line flags:
the frame limit (1009 above ``CHAT_FRAME_MAX_BYTES``), no per-message compression (a
broadcast is framed once and written as-is to every receiver), the client address from
``X-Forwarded-For`` only when the peer is a configured proxy (``FORWARDED_ALLOW_IPS``: the
right-most address no such proxy added), a deadline for the request headers
(``CHAT_HEADER_TIMEOUT``: uvicorn has none, and a client sending half a request line held
its socket for as long as it liked) and a cap on concurrent connections under the
file-descriptor limit. On SIGTERM uvicorn stops accepting, closes every socket with
1012 ("service restart": clients reconnect to another process at once) and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

BACKLOG = 8192
APP = "chatsite.asgi:application"


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request headers (a
    WebSocket's handshake included) are not complete ``header_timeout`` seconds after the
    connection opened or the request began. Idle keep-alive connections are uvicorn's own
    ``timeout_keep_alive``."""

    header_timeout = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    # uvicorn annotates a BaseTransport; httptools only ever hands it a Transport.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        super().handle_websocket_upgrade()
        # The WebSocket protocol has the transport now and this one gets no more calls (not
        # even connection_lost, where uvicorn lets go of its parser): the parser refers back
        # to this protocol through its callbacks, so break that cycle here, or every socket's
        # handshake would wait for a full collection (messaging.servers.GcKeeper).
        self.parser = None  # type: ignore[assignment]

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        self.transport.abort()  # nothing to say: it never finished asking


def concurrency_limit(configured: int) -> int:
    """``configured``, or (0) four fifths of the file-descriptor limit, raised first to its
    hard limit: past it uvicorn answers 503 instead of the process running out of
    descriptors (which refused ``/healthz`` and every new socket alike)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    ceiling = max(64, soft * 4 // 5)
    return min(configured, ceiling) if configured > 0 else ceiling


def forwarded_options(allow_ips: str) -> dict[str, Any]:
    """uvicorn's proxy-header options: believe ``X-Forwarded-For`` only from ``allow_ips``."""
    ips = ",".join(ip.strip() for ip in allow_ips.split(",") if ip.strip())
    return {"proxy_headers": bool(ips), "forwarded_allow_ips": ips or ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "info").lower())
    parser.add_argument("--app", default=APP, help="ASGI application (the benchmark's references)")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    import uvicorn
    from django.conf import settings

    HeaderDeadlineProtocol.header_timeout = settings.CHAT["HEADER_TIMEOUT"]
    uvicorn.run(
        args.app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http=HeaderDeadlineProtocol,
        ws="websockets-sansio",
        ws_max_size=settings.CHAT["FRAME_MAX_BYTES"],
        ws_per_message_deflate=False,
        lifespan="off",
        limit_concurrency=concurrency_limit(settings.CHAT["MAX_CONCURRENCY"]),
        **forwarded_options(settings.CHAT["FORWARDED_ALLOW_IPS"]),
        access_log=False,
        log_level=args.log_level,
        timeout_graceful_shutdown=10,
        # A reconnect storm arrives at once; a short accept queue drops SYNs, and each
        # dropped one costs its client a kernel retry 1, 3, 7 s later (capped by somaxconn).
        backlog=BACKLOG,
    )


if __name__ == "__main__":
    main()
