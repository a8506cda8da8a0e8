"""What the consumer reaches into its ASGI server for, where ASGI has no word for it.

Daphne hands an application ``partial(server.handle_reply, protocol)`` as ``send``; the
protocol is an autobahn ``WebSocketServerProtocol`` on a Twisted transport. Two things
are only possible there:

- *Frame size.* Autobahn refuses to send close code 1009 on the application's behalf
  (it allows 1000 and 3000-4999 only), but enforces its own payload limits with 1009 —
  before a huge frame is even buffered. So the limit is set on the protocol.
- *Backlog.* Twisted accepts every write and buffers it; what is still unsent tells
  whether the client stopped reading (``messaging.outbox``).

Under other servers (uvicorn) both functions do nothing: those servers close with 1009
themselves and apply backpressure by making ``send`` wait.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def daphne_protocol(send: Any) -> Any | None:
    if not isinstance(send, functools.partial) or not send.args:
        return None
    protocol = send.args[0]
    return protocol if hasattr(protocol, "maxMessagePayloadSize") else None


def limit_frame_size(send: Any, max_bytes: int) -> None:
    """Let the server itself close with 1009 on a message over ``max_bytes``."""
    protocol = daphne_protocol(send)
    if protocol is not None:
        protocol.maxMessagePayloadSize = max_bytes
        protocol.maxFramePayloadSize = max_bytes
        # Say why in a close frame (1009) rather than dropping the TCP connection silently.
        protocol.failByDrop = False


def transport_backlog_probe(send: Any) -> Callable[[], int] | None:
    """Bytes Daphne accepted for this socket but Twisted has not yet written, if visible.

    Twisted keeps unsent bytes in ``dataBuffer`` (from ``offset``) and in
    ``_tempDataBuffer`` (``_tempDataLen`` long).
    """
    if not isinstance(send, functools.partial) or not send.args:
        return None
    transport = getattr(send.args[0], "transport", None)
    if transport is None or not hasattr(transport, "_tempDataLen"):
        return None

    def backlog() -> int:
        buffered = len(getattr(transport, "dataBuffer", b"")) - getattr(transport, "offset", 0)
        return buffered + transport._tempDataLen

    return backlog
