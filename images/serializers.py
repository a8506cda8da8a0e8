"""The ``attachment`` wire object (PROTOCOL.md (v1.1)): a message's image or a listing's photo."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from images.storage import signed_url


class AttachmentSerializer(serializers.Serializer[Any]):
    """Built from an image's ``meta()`` (a mapping); ``url``/``thumb_url`` are signed."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["image"])
    content_type = serializers.CharField()
    bytes = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.CharField(help_text="Signed; valid for CHAT_MEDIA_URL_TTL.")
    thumb_url = serializers.CharField(help_text="Signed; longest side 400 px.")

    def to_representation(self, instance: Mapping[str, Any]) -> dict[str, Any]:
        return attachment_data(instance)


def attachment_data(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": meta["id"],
        "kind": "image",
        "content_type": meta["content_type"],
        "bytes": meta["bytes"],
        "width": meta["width"],
        "height": meta["height"],
        "name": meta["name"],
        "url": signed_url(meta["file"]),
        "thumb_url": signed_url(meta["thumb"]),
    }
