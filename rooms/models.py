from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from chatsite.foundation.text import name_key
from images.models import StoredImage


class ListingPhoto(StoredImage):
    """A listing's photo; replacing it deletes the old one (row and files)."""

    def __str__(self) -> str:
        return self.name


class Listing(models.Model):
    AVAILABLE = "available"
    LENT = "lent"
    STATUSES = ((AVAILABLE, "Available"), (LENT, "Lent"))

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="listings"
    )
    title = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status = models.CharField(max_length=12, choices=STATUSES, default=AVAILABLE)
    photo = models.OneToOneField(
        ListingPhoto, null=True, blank=True, on_delete=models.SET_NULL, related_name="listing"
    )

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.title


class ChatRoom(models.Model):
    PUBLIC = "public"
    DIRECT = "direct"
    KINDS = ((PUBLIC, "Public"), (DIRECT, "Direct"))

    kind = models.CharField(max_length=8, choices=KINDS)
    name = models.CharField(max_length=80, blank=True)
    # A public room's name as compared for uniqueness (``chatsite.foundation.text.name_key``:
    # NFKC, case folded), so a full-width "general" cannot sit beside "general". Empty for
    # direct rooms.
    name_key = models.CharField(max_length=200, blank=True, default="")
    # A direct room outlives its listing: the conversation stays, ``listing`` becomes null.
    listing = models.ForeignKey(
        Listing, null=True, blank=True, on_delete=models.SET_NULL, related_name="rooms"
    )
    # The visitor who asked about the listing; with ``listing`` it names the one direct room.
    borrower = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The room's change counter: every new message, edit and deletion takes the next number.
    last_seq = models.BigIntegerField(default=0)
    last_activity_at = models.DateTimeField(auto_now_add=True)
    created_at = models.DateTimeField(auto_now_add=True)
    is_closed = models.BooleanField(default=False)
    # Seconds a user waits between two sends here (staff exempt); 0: off. Set by moderation.
    slow_mode = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("name"), condition=models.Q(kind="public"), name="room_public_name_ci_unique"
            ),
            models.UniqueConstraint(
                fields=["name_key"],
                condition=models.Q(kind="public") & ~models.Q(name_key=""),
                name="room_public_name_key_unique",
            ),
            models.UniqueConstraint(
                fields=["listing", "borrower"],
                condition=models.Q(kind="direct"),
                name="room_direct_listing_borrower_unique",
            ),
        ]
        indexes = [models.Index(fields=["-last_activity_at", "-id"], name="room_activity_idx")]

    def __str__(self) -> str:
        return self.name or f"room {self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Derived, not a rule: kept true however a public room is made (admin, fixtures).
        if self.kind == self.PUBLIC and not self.name_key:
            self.name_key = name_key(self.name)
        super().save(*args, **kwargs)


class Membership(models.Model):
    OWNER = "owner"
    BORROWER = "borrower"
    READER = "reader"  # a public room's reader: only here to remember what was read
    ROLES = ((OWNER, "Owner"), (BORROWER, "Borrower"), (READER, "Reader"))

    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=8, choices=ROLES)
    last_read_seq = models.BigIntegerField(default=0)
    # (v1.1) No ``notify``, push or e-mail from this room for this user; unread still counts.
    muted = models.BooleanField(default=False)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="membership_room_user_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.room}"
