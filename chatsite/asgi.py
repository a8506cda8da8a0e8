"""ASGI entry point: HTTP to Django, ``/ws/chat/`` to the ChatConsumer."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
django_asgi_app = get_asgi_application()  # before importing anything that touches models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.urls import path  # noqa: E402

from chatsite.middleware import JwtAuthMiddleware, origin_checked  # noqa: E402
from messaging.consumers import ChatConsumer  # noqa: E402

websocket_urlpatterns = [path("ws/chat/", ChatConsumer.as_asgi())]

application = ProtocolTypeRouter(
    {
        # In development Daphne serves the client's files itself; production has nginx.
        "http": ASGIStaticFilesHandler(django_asgi_app) if settings.DEBUG else django_asgi_app,
        "websocket": origin_checked(JwtAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
