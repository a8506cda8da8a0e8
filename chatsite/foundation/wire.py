"""The contract's JSON encoding and time format, shared by HTTP and WebSocket."""

from datetime import UTC, datetime
from typing import Any

import orjson


def encode(frame: dict[str, Any]) -> str:
    """A frame as JSON text: encoded once per broadcast, the same text for every receiver."""
    return orjson.dumps(frame).decode()


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds: ``2026-11-22T10:01:02.123Z``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"  # "+00:00"
