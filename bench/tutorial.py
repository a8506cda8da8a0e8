"""The second reference: a consumer written the way the Channels tutorial writes one.

Every socket joins the room's group with its own channel; a message is ``group_send`` to the
group, so the channel layer carries one event per member, and each member's consumer
``json.dumps`` the frame again before sending it. No storage (the tutorial has none), the
same token check at the door as the real consumer. It speaks just enough chat.v1 for the
load generator: join → joined, send → ack + message.

    uvicorn bench.tutorial:application   (bench.common starts it as the "tutorial" target)
"""

import itertools
import json
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
django_asgi_app = get_asgi_application()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from chatsite.middleware import SUBPROTOCOL, JwtAuthMiddleware, origin_checked  # noqa: E402

sequence = itertools.count(1)


class TutorialConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        await self.accept(SUBPROTOCOL)
        self.rooms = set()

    async def disconnect(self, code):
        for room in self.rooms:
            await self.channel_layer.group_discard(f"room.{room}", self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        frame = json.loads(text_data)
        room = frame["room"]
        if frame["type"] == "join":
            await self.channel_layer.group_add(f"room.{room}", self.channel_name)
            self.rooms.add(room)
            joined = {"type": "joined", "room": room, "cursor": 0, "online": 0, "users": []}
            await self.send(text_data=json.dumps(joined))
        elif frame["type"] == "send":
            seq = next(sequence)
            message = {
                "id": seq,
                "room": room,
                "seq": seq,
                "rev": seq,
                "author": self.scope["user"].id,
                "body": frame["body"],
                "client_id": frame["client_id"],
            }
            ack = {"type": "ack", "client_id": frame["client_id"], "message": message}
            await self.send(text_data=json.dumps(ack))
            await self.channel_layer.group_send(
                f"room.{room}", {"type": "chat.message", "message": message}
            )

    async def chat_message(self, event):
        await self.send(text_data=json.dumps({"type": "message", "message": event["message"]}))


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": origin_checked(
            JwtAuthMiddleware(URLRouter([path("ws/chat/", TutorialConsumer.as_asgi())]))
        ),
    }
)
