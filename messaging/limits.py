"""How much a user may do: the write budget, replays, the connection cap, the typing throttle.

Rules, not transport: HTTP and WebSocket call the same functions, so a limit means the same
on both. The counts live in the shared store (``messaging.ephemeral``), so they hold across
every process and every connection of a user. The settings are read at each call (tests and
operators change ``settings.CHAT``).
"""

from __future__ import annotations

import logging
import math

from django.conf import settings
from django.utils.translation import gettext

from chatsite.foundation.errors import RateLimited
from messaging.ephemeral import STORE_ERRORS, address_key, get_store

log = logging.getLogger(__name__)


async def send_rate_check(*, user_id: int) -> None:
    """Count one send of ``user_id``; ``RateLimited`` (with ``retry_after``) past
    ``SEND_RATE`` sends per ``SEND_WINDOW`` seconds, across all the user's connections."""
    wait = await get_store().rate_hit(
        f"send:{user_id}", settings.CHAT["SEND_RATE"], settings.CHAT["SEND_WINDOW"]
    )
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise RateLimited(
            gettext("Too many messages; try again in %(seconds)s s.") % {"seconds": seconds},
            retry_after=seconds,
        )


async def write_rate_check(*, user_id: int) -> None:
    """An edit or a delete: counted in the same budget as sends (``send_rate_check``), so a
    client cannot commit and broadcast changes faster by editing instead of sending."""
    await send_rate_check(user_id=user_id)


async def read_rate_check(*, user_id: int) -> None:
    """A ``read`` mark: its own budget (``READ_RATE`` per ``SEND_WINDOW``), larger than the
    send budget, since a client marks as it scrolls; a refused mark is covered by the next."""
    await _hit(f"read:{user_id}", settings.CHAT["READ_RATE"], settings.CHAT["SEND_WINDOW"])


async def replay_check(*, user_id: int, conn_id: str, room_id: int, cursor: int) -> None:
    """A replay (``join`` or ``sync`` with a cursor) of ``room_id`` after ``cursor``:
    ``RateLimited`` past ``REPLAY_RATE`` per ``REPLAY_WINDOW`` seconds for the connection,
    past twice that for the user across all connections and processes, and for the same
    (room, cursor) asked again by the connection within ``REPLAY_REPEAT_WINDOW`` seconds (it
    would be sent the same frames again: a client that saw a gap asks once, then waits)."""
    rate, window = settings.CHAT["REPLAY_RATE"], settings.CHAT["REPLAY_WINDOW"]
    repeat = settings.CHAT["REPLAY_REPEAT_WINDOW"]
    store = get_store()
    if not await store.claim(f"replay:{conn_id}:{room_id}:{cursor}", repeat):
        seconds = max(1, math.ceil(repeat))
        raise RateLimited(
            gettext("That replay was just sent; try again in %(seconds)s s.")
            % {"seconds": seconds},
            retry_after=seconds,
        )
    await _hit(f"replay:{conn_id}", rate, window)
    await _hit(f"replay-user:{user_id}", 2 * rate, window)


async def _hit(key: str, limit: int, window: float) -> None:
    wait = await get_store().rate_hit(key, limit, window)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise RateLimited(
            gettext("Too many requests; try again in %(seconds)s s.") % {"seconds": seconds},
            retry_after=seconds,
        )


async def connection_admit(*, user_id: int, conn_id: str, address: str) -> bool:
    """Count a new connection of ``user_id`` from ``address``; False, and not counted, past
    ``MAX_CONNECTIONS_PER_USER`` open for the user or ``MAX_CONNECTIONS_PER_ADDRESS`` open
    from the address, across all processes.

    While the shared store is unreachable every connection is admitted: an outage of the
    store does not lock people out (the hub's heartbeat counts them once it is back).
    """
    store = get_store()
    try:
        open_now = await store.connection_open(user_id, conn_id)
        from_address = await store.connection_open(address_key(address), conn_id)
    except STORE_ERRORS as exc:
        log.warning("limits: connection count unavailable, admitting: %r", exc)
        return True
    if (
        open_now <= settings.CHAT["MAX_CONNECTIONS_PER_USER"]
        and from_address <= settings.CHAT["MAX_CONNECTIONS_PER_ADDRESS"]
    ):
        return True
    # A refused socket holds no slot.
    await connection_release(user_id=user_id, conn_id=conn_id, address=address)
    return False


async def connection_release(*, user_id: int, conn_id: str, address: str) -> None:
    """Give back the slots of a connection that closed (its entries expire anyway if this
    fails: the store is away, and the hub stops refreshing them)."""
    store = get_store()
    try:
        await store.connection_close(user_id, conn_id)
        await store.connection_close(address_key(address), conn_id)
    except STORE_ERRORS as exc:
        log.warning("limits: connection release failed: %r", exc)


async def typing_allowed(*, user_id: int, room_id: int) -> bool:
    """At most one ``typing`` per ``TYPING_INTERVAL`` seconds per user per room."""
    return await get_store().claim(f"typing:{user_id}:{room_id}", settings.CHAT["TYPING_INTERVAL"])
