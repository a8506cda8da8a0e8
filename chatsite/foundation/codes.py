"""The contract's codes, defined once (PROTOCOL.md, "Frames").

The browser client's copy (``static/js/codes.js``) is checked against these by a test.
"""

from enum import StrEnum
from typing import Final

SUBPROTOCOL = "chat.v1"
BEARER_PREFIX = "bearer."


class Close:
    """WebSocket close codes the server uses.

    Plain ints, not an IntEnum: autobahn (under Daphne) refuses a close code whose type is
    not exactly ``int``.
    """

    GOING_AWAY: Final = 1001  # development server (Daphne) shutting down: reconnect at once
    TOO_BIG: Final = 1009  # a frame over CHAT_FRAME_MAX_BYTES
    SERVICE_RESTART: Final = 1012  # production server (uvicorn) shutting down: reconnect at once
    AUTH: Final = 4401  # token missing, invalid or expired: refresh, then reconnect
    BANNED: Final = 4403  # banned or deactivated
    SLOW: Final = 4408  # the client stopped reading; it resumes by cursor on reconnect
    TOO_MANY: Final = 4429  # too many open connections for this user (or client address)


class Code(StrEnum):
    """The ``code`` of an ``error`` frame or an HTTP error body."""

    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    NOT_JOINED = "not_joined"
    TOO_LONG = "too_long"
    EMPTY = "empty"
    RATE_LIMITED = "rate_limited"
    ROOM_CLOSED = "room_closed"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"
    # HTTP only
    NAME_TAKEN = "name_taken"
    OWN_LISTING = "own_listing"
    INVALID_CREDENTIALS = "invalid_credentials"
    USERNAME_TAKEN = "username_taken"
    # (v1.1)
    BLOCKED = "blocked"
    MUTED = "muted"
    SLOW_MODE = "slow_mode"
    FILTERED = "filtered"
    POW_REQUIRED = "pow_required"
    UNSUPPORTED_MEDIA = "unsupported_media"
    TOO_LARGE = "too_large"
    # HTTP only, beyond PROTOCOL.md: a banned user's refresh, or a guest mint from a banned
    # address (403) — the client shows "banned" instead of minting a new identity.
    BANNED = "banned"


CLOSE_CODES: Final = {name: value for name, value in vars(Close).items() if isinstance(value, int)}
