"""The ``listing`` wire object (PROTOCOL.md).

The declared fields are the definition (the OpenAPI schema is generated from them);
``to_representation`` is the same mapping written out flat, as a direct room carries its
listing in every room object. A test holds the two equal.
"""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import UserSerializer, user_data
from chatsite.foundation.serializers import Timestamp
from chatsite.foundation.wire import iso
from images.serializers import AttachmentSerializer, attachment_data
from rooms.models import Listing


class ListingSerializer(serializers.Serializer[Listing]):
    id = serializers.IntegerField()
    owner = UserSerializer()
    title = serializers.CharField()
    description = serializers.CharField()
    created_at = Timestamp()
    status = serializers.ChoiceField(choices=Listing.STATUSES, help_text="(v1.1)")
    photo = serializers.SerializerMethodField(help_text="(v1.1)")

    @extend_schema_field(AttachmentSerializer(allow_null=True))
    def get_photo(self, listing: Listing) -> dict[str, Any] | None:
        return AttachmentSerializer(listing.photo.meta()).data if listing.photo else None

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
        "status": listing.status,
        "photo": attachment_data(listing.photo.meta()) if listing.photo else None,
    }
