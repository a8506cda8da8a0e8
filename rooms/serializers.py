"""The ``listing`` wire object."""

from typing import Any

from accounts.serializers import user_data
from chatsite.foundation.wire import iso
from rooms.models import Listing


def listing_data(listing: Listing) -> dict[str, Any]:
    return {
        "id": listing.id,
        "owner": user_data(listing.owner),
        "title": listing.title,
        "description": listing.description,
        "created_at": iso(listing.created_at),
    }
