"""``/healthz`` (alive) and ``/readyz`` (database and channel layer reachable)."""

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "channel_layer": _layer_ok()}
    ok = all(checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", **checks}, status=200 if ok else 503
    )


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _layer_ok() -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False

    async def probe() -> None:
        channel = await layer.new_channel()
        await asyncio.wait_for(layer.send(channel, {"type": "probe"}), 2)
        await asyncio.wait_for(layer.receive(channel), 2)

    try:
        async_to_sync(probe)()
        return True
    except Exception:
        return False
