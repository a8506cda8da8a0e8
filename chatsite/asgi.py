"""ASGI entry point: HTTP to Django, ``/ws/chat/`` to the ChatConsumer."""

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
django.setup(set_prefix=False)  # before importing anything that touches models

from django import db  # noqa: E402
from django.conf import settings  # noqa: E402
from django.utils.translation import gettext  # noqa: E402

from chatsite.bodies import handle_bounded  # noqa: E402
from chatsite.foundation.errors import TooLarge  # noqa: E402


class SharedThreadASGIHandler(ASGIHandler):
    """Django's ASGI handler with the whole sync request in one hop to one thread.

    Django's own, for a project whose middleware and views are sync (these are), crosses
    to a thread and back for every middleware hook — each ``MiddlewareMixin`` runs its
    ``process_request``/``process_response`` through ``sync_to_async`` — and starts a fresh
    thread (and database connection) for every request (``ThreadSensitiveContext``).
    Measured here: 3.3 ms of CPU for a request that does nothing (bench/README.md). This
    handler builds the middleware chain in sync mode and runs it, view included, with one
    ``sync_to_async`` call on the process's one sync thread — where the WebSocket
    consumer's database calls already run, on a connection kept open. The cost: one
    process's sync work is serial, as it is anyway under one GIL on one core, so a slow
    query holds up the others in that process; run more processes for more.

    Except password checks: PBKDF2 costs half a second of CPU by design, and four clients
    looping on the login held the one thread (so ``/healthz`` and every WebSocket database
    call) for seconds. Requests that hash a password (``PASSWORD_PATHS``) run on a pool of
    their own, ``PASSWORD_THREADS`` wide: a burst of logins queues there, and the hashing
    releases the GIL, so the rest of the process goes on.

    Request bodies over ``CHAT_HTTP_BODY_MAX`` are refused with 413 ``too_large`` before
    they are read (by their ``Content-Length``, or as soon as a chunked one passes it).
    """

    PASSWORD_PATHS = frozenset(
        {"/api/auth/login/", "/api/auth/claim/", "/admin/login/", "/admin/password_change/"}
    )
    PASSWORD_THREADS = 2

    def __init__(self) -> None:
        super().__init__()
        self.load_middleware(is_async=False)
        self.password_pool = ThreadPoolExecutor(
            max_workers=self.PASSWORD_THREADS, thread_name_prefix="passwords"
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        limit = settings.CHAT["HTTP_BODY_MAX"]
        error = TooLarge(gettext("A request body has at most %(limit)s bytes.") % {"limit": limit})
        await handle_bounded(self.handle, scope, receive, send, limit=limit, error=error)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        if request.path in self.PASSWORD_PATHS:
            return await sync_to_async(
                _in_own_thread(self.get_response),
                thread_sensitive=False,
                executor=self.password_pool,
            )(request)
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def _in_own_thread(get_response: Any) -> Any:
    def run(request: HttpRequest) -> HttpResponseBase:
        try:
            response: HttpResponseBase = get_response(request)
            return response
        finally:
            # This pool's threads hold their own connections: give back what is past its age.
            db.close_old_connections()

    return run


django_asgi_app = SharedThreadASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.urls import path  # noqa: E402

from chatsite.middleware import JwtAuthMiddleware, origin_checked  # noqa: E402
from chatsite.uploads import UPLOAD_PATHS, UploadASGIHandler  # noqa: E402
from messaging.consumers import ChatConsumer  # noqa: E402

if settings.CHAT["TASKS_IN_PROCESS"]:
    # The embedded default: the task worker runs here, beside the in-process presence.
    from notifications.worker import start_in_process

    start_in_process()

websocket_urlpatterns = [path("ws/chat/", ChatConsumer.as_asgi())]
upload_asgi_app = UploadASGIHandler()
# In development Daphne serves the client's files itself; production has nginx.
shared_asgi_app = ASGIStaticFilesHandler(django_asgi_app) if settings.DEBUG else django_asgi_app


async def http_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Uploads to their own handler (``chatsite.uploads``), everything else shared."""
    app = upload_asgi_app if UPLOAD_PATHS.match(scope["path"]) else shared_asgi_app
    await app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": origin_checked(JwtAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
