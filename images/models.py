"""The columns of a stored image; concrete tables live in the apps that own them."""

from __future__ import annotations

from typing import Any

from django.db import models


class StoredImage(models.Model):
    """An image as stored after ``images.processing``: always re-encoded, never as sent."""

    file = models.CharField(max_length=255)  # name in STORAGES["default"]
    thumb = models.CharField(max_length=255)
    content_type = models.CharField(max_length=40)
    bytes = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    name = models.CharField(max_length=120, blank=True)  # the sender's file name, for people
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        abstract = True

    def meta(self) -> dict[str, Any]:
        """What ``images.serializers.attachment_data`` reads (kept as JSON with a message)."""
        return {
            "id": self.pk,
            "file": self.file,
            "thumb": self.thumb,
            "content_type": self.content_type,
            "bytes": self.bytes,
            "width": self.width,
            "height": self.height,
            "name": self.name,
        }

    def files(self) -> list[str]:
        return [self.file, self.thumb]
