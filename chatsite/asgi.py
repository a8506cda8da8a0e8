"""ASGI entry point: HTTP to Django, ``/ws/chat/`` to the ChatConsumer."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
django_asgi_app = get_asgi_application()  # before importing anything that touches models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from chatsite.middleware import JwtAuthMiddleware, origin_checked  # noqa: E402
from messaging.consumers import ChatConsumer  # noqa: E402

websocket_urlpatterns = [path("ws/chat/", ChatConsumer.as_asgi())]

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": origin_checked(JwtAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
