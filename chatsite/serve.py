"""The production server: one uvicorn process (``python -m chatsite.serve --port 8001``).

Chosen over Daphne by ``make bench`` (bench/README.md): the same consumer fans out several
times faster under uvicorn's ``websockets-sansio`` protocol on uvloop. Daphne still serves
``runserver`` and ``make run``, and both are tested. Run several of these behind nginx
(``make prod-up``); each is one process on one core.

Settings that matter to the chat are fixed here rather than left to command-line flags:
the frame limit (1009 above ``CHAT_FRAME_MAX_BYTES``), no per-message compression (a
broadcast is framed once and written as-is to every receiver), the client address from
nginx's ``X-Forwarded-For``. On SIGTERM uvicorn stops accepting, closes every socket with
1012 ("service restart": clients reconnect to another process at once) and exits.
"""

from __future__ import annotations

import argparse
import os

BACKLOG = 8192
APP = "chatsite.asgi:application"


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

    uvicorn.run(
        args.app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_max_size=settings.CHAT["FRAME_MAX_BYTES"],
        ws_per_message_deflate=False,
        lifespan="off",
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        access_log=False,
        log_level=args.log_level,
        timeout_graceful_shutdown=10,
        # A reconnect storm arrives at once; a short accept queue drops SYNs, and each
        # dropped one costs its client a kernel retry 1, 3, 7 s later (capped by somaxconn).
        backlog=BACKLOG,
    )


if __name__ == "__main__":
    main()
