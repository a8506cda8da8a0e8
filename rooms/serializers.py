"""The ``listing`` wire object (PROTOCOL.md).

The declared fields are the definition (the OpenAPI schema is generated from them);
``to_representation`` is the same mapping written out flat, as a direct room carries its
listing in every room object. A test holds the two equal.
"""

from typing import Any

from rest_framework import serializers

from accounts.serializers import UserSerializer, user_data
from chatsite.foundation.serializers import Timestamp
from chatsite.foundation.wire import iso
from rooms.models import Listing


class ListingSerializer(serializers.Serializer[Listing]):
    id = serializers.IntegerField()
    owner = UserSerializer()
    title = serializers.CharField()
    description = serializers.CharField()
    created_at = Timestamp()

    def to_representation(self, instance: Listing) -> dict[str, Any]:
        return listing_data(instance)


def listing_data(listing: Listing) -> dict[str, Any]:
    """The ``listing`` object: ``ListingSerializer``'s fields, built directly."""
    return {
        "id": listing.id,
        "owner": user_data(listing.owner),
        "title": listing.title,
        "description": listing.description,
        "created_at": iso(listing.created_at),
    }
