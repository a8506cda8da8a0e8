"""Publishing to the channel layer: the one place events leave a write path.

Every event has our own type ``chat.event`` (never a client's frame type) and names the
group it was sent to, because each server process receives it once on its own channel and
fans it out to its local connections (``messaging.hub``). Everything in an event is a str,
int or None so it survives channels-redis' msgpack serialization.

``kind`` says what the hub does with it:

- ``frame``: write ``text`` (an already encoded wire frame) to every local connection in the
  group, except those of ``skip_user``, and — with ``unless_joined`` — except connections
  that have joined that room. ``room`` and ``rev`` let a connection that is still replaying
  drop a live copy of something it already sent.
- ``close``: close every local connection in the group with ``code``.
- ``forget``: the room ``room`` is gone; connections drop it and are told with ``text``.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

EVENT_TYPE = "chat.event"


def room_group(room_id: int) -> str:
    return f"room.{room_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def event(group: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": EVENT_TYPE, "group": group, "kind": kind, **fields}


async def apublish(group: str, kind: str, **fields: Any) -> None:
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(group, event(group, kind, **fields))


def publish(group: str, kind: str, **fields: Any) -> None:
    async_to_sync(apublish)(group, kind, **fields)


Event = tuple[str, str, dict[str, Any]]
_collector: ContextVar[list[Event] | None] = ContextVar("realtime_collector", default=None)
P = ParamSpec("P")
R = TypeVar("R")


def publish_on_commit(group: str, kind: str, **fields: Any) -> None:
    """Publish once the surrounding transaction commits (at once outside a transaction).

    Inside ``collecting`` the committed event is handed back to the caller instead, so the
    WebSocket consumer can acknowledge first and broadcast after, from its own event loop.
    """
    collector = _collector.get()
    if collector is not None:
        transaction.on_commit(lambda: collector.append((group, kind, fields)), robust=True)
    else:
        transaction.on_commit(lambda: publish(group, kind, **fields), robust=True)


def collecting(fn: Callable[P, R]) -> Callable[P, tuple[R, list[Event]]]:
    """Run ``fn`` and return its result with the events its committed writes published."""

    @wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> tuple[R, list[Event]]:
        events: list[Event] = []
        with collecting_into(events):
            return fn(*args, **kwargs), events

    return run


@contextmanager
def collecting_into(events: list[Event]) -> Iterator[None]:
    """Within: ``publish_on_commit`` hands its events to ``events`` once they commit (several
    writes sharing one transaction each collect their own)."""
    token = _collector.set(events)
    try:
        yield
    finally:
        _collector.reset(token)


async def apublish_all(events: list[Event]) -> None:
    for group, kind, fields in events:
        await apublish(group, kind, **fields)
