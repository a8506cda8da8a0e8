"""ASGI entry point: HTTP to Django, ``/ws/chat/`` to the ChatConsumer."""

import os
from typing import Any

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
django.setup(set_prefix=False)  # before importing anything that touches models


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
    """

    def __init__(self) -> None:
        super().__init__()
        self.load_middleware(is_async=False)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


django_asgi_app = SharedThreadASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
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
