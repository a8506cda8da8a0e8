"""How much a user may do: the send rate, the connection cap, the typing throttle.

Rules, not transport: HTTP and WebSocket call the same functions, so a limit means the same
on both. The counts live in the shared store (``messaging.ephemeral``), so they hold across
every process and every connection of a user. The settings are read at each call (tests and
operators change ``settings.CHAT``).
"""

from __future__ import annotations

import logging
import math

from django.conf import settings

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
        raise RateLimited(f"Too many messages; try again in {seconds} s.", retry_after=seconds)


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
