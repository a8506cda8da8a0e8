"""OpenAPI descriptions for hand-serialized views.

The wire objects are built by plain functions (one encoding, shared with the WebSocket), so
the schema describes them here once instead of guessing from serializers.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers

USER = inline_serializer(
    "User",
    {
        "id": serializers.IntegerField(),
        "nickname": serializers.CharField(),
        "tag": serializers.CharField(),
        "display_name": serializers.CharField(),
        "is_guest": serializers.BooleanField(),
    },
)
TOKENS = inline_serializer(
    "Tokens", {"access": serializers.CharField(), "refresh": serializers.CharField()}
)
SESSION = inline_serializer(
    "Session", {"access": serializers.CharField(), "refresh": serializers.CharField(), "user": USER}
)
LISTING = inline_serializer(
    "Listing",
    {
        "id": serializers.IntegerField(),
        "owner": USER,
        "title": serializers.CharField(),
        "description": serializers.CharField(),
        "created_at": serializers.DateTimeField(),
    },
)
MESSAGE = inline_serializer(
    "Message",
    {
        "id": serializers.IntegerField(),
        "room": serializers.IntegerField(),
        "seq": serializers.IntegerField(),
        "rev": serializers.IntegerField(),
        "author": USER,
        "body": serializers.CharField(),
        "client_id": serializers.CharField(),
        "created_at": serializers.DateTimeField(),
        "edited_at": serializers.DateTimeField(allow_null=True),
        "deleted": serializers.BooleanField(),
    },
)
ROOM = inline_serializer(
    "Room",
    {
        "id": serializers.IntegerField(),
        "kind": serializers.ChoiceField(choices=["public", "direct"]),
        "name": serializers.CharField(),
        "listing": LISTING,
        "peer": USER,
        "peer_last_read_seq": serializers.IntegerField(allow_null=True),
        "last_seq": serializers.IntegerField(),
        "last_message": MESSAGE,
        "unread": serializers.IntegerField(),
        "online": serializers.IntegerField(),
        "is_closed": serializers.BooleanField(),
    },
)
ERROR = inline_serializer(
    "Error",
    {
        "code": serializers.CharField(),
        "detail": serializers.CharField(),
        "retry_after": serializers.IntegerField(required=False),
    },
)


def page_of(name: str, item: serializers.Serializer) -> serializers.Serializer:
    return inline_serializer(
        name,
        {
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializers.ListField(child=item),
        },
    )


HISTORY = inline_serializer(
    "History",
    {"results": serializers.ListField(child=MESSAGE), "has_more": serializers.BooleanField()},
)
NO_CONTENT = OpenApiResponse(description="Done.")

__all__ = [
    "ERROR",
    "HISTORY",
    "LISTING",
    "MESSAGE",
    "NO_CONTENT",
    "ROOM",
    "SESSION",
    "TOKENS",
    "USER",
    "extend_schema",
    "page_of",
]
