"""The ``listing`` wire object, and the one time format of the contract."""

from datetime import UTC, datetime
from typing import Any

from accounts.serializers import user_data
from rooms.models import Listing


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds: ``2026-11-22T10:01:02.123Z``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"  # "+00:00"


def listing_data(listing: Listing) -> dict[str, Any]:
    return {
        "id": listing.id,
        "owner": user_data(listing.owner),
        "title": listing.title,
        "description": listing.description,
        "created_at": iso(listing.created_at),
    }
