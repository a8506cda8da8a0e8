"""Request bodies bounded before Django reads them — for the ordinary HTTP handler
(``CHAT_HTTP_BODY_MAX``) and the uploads' handler (``images.uploads.body_limit``) alike.

A declared ``Content-Length`` over the limit is answered 413 ``too_large`` without reading
any of it; a body without one (chunked) is counted as it arrives and refused as soon as it
passes the limit. The 413 closes the connection: the rest of the body is never read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from chatsite.foundation.errors import TooLarge
from chatsite.foundation.wire import encode

Handle = Callable[[dict[str, Any], Any, Any], Awaitable[object]]


class BodyTooLarge(Exception):
    pass


async def handle_bounded(
    handle: Handle, scope: dict[str, Any], receive: Any, send: Any, *, limit: int, error: TooLarge
) -> None:
    """``handle(scope, receive, send)`` with the request body bounded at ``limit`` bytes;
    over it, ``error`` as the 413 answer."""
    declared = declared_length(scope)
    if declared is not None and declared > limit:
        await refuse(send, error)
        return
    received = 0

    async def counted() -> dict[str, Any]:
        nonlocal received
        message: dict[str, Any] = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise BodyTooLarge()
        return message

    try:
        await handle(scope, counted, send)
    except BodyTooLarge:
        await refuse(send, error)


def declared_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def refuse(send: Any, error: TooLarge) -> None:
    body = encode(error.as_dict()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
