"""Notification settings, push subscriptions, and the records that make delivery idempotent.

A ``RoomDue`` is a room with messages not yet looked at (one delivery task per burst, not
one per message); a ``Notice`` is one message owed to one user; a ``PushDelivery`` is that
notice owed to one of their browsers; a ``Digest`` is one e-mail listing notices. Each is
written, in the same transaction as the decision to send, *before* the send: a worker killed
mid-send leaves the record pending and the task's re-run sends what is pending — and only that.
"""

from django.conf import settings
from django.db import models


class NotificationSettings(models.Model):
    OFF = "off"
    DIGEST = "digest"
    EMAIL_CHOICES = ((OFF, "Off"), (DIGEST, "Digest"))
    LANGUAGES = (("en", "English"), ("ko", "Korean"))

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="notification_settings",
    )
    email = models.EmailField(blank=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    notify_email = models.CharField(max_length=8, choices=EMAIL_CHOICES, default=DIGEST)
    notify_push = models.BooleanField(default=True)
    language = models.CharField(
        max_length=8, choices=LANGUAGES, blank=True, default=""
    )  # "" = none
    # The last digest sent: at most one per CHAT_EMAIL_INTERVAL.
    last_digest_at = models.DateTimeField(null=True, blank=True)
    # A digest task is enqueued for this time: one per user at a time, not one per message.
    digest_due_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"settings of {self.user_id}"

    @property
    def email_verified(self) -> bool:
        return bool(self.email) and self.email_verified_at is not None


class PushSubscription(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=1024, unique=True)
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"push for {self.user_id}"


class RoomDue(models.Model):
    """A room whose messages from ``first_seq`` on (direct messages, mentions) are still to be
    looked at for notifications. The send path upserts it in the message's transaction —
    which holds the row until that commit — and enqueues one task when it creates it; the
    task removes it when it has looked at everything up to ``last_seq``. A burst of
    messages to someone offline is one task and one push per (recipient, room)."""

    room = models.OneToOneField(
        "rooms.ChatRoom", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()

    def __str__(self) -> str:
        return f"room {self.room_id} from {self.first_seq} to {self.last_seq}"


class Notice(models.Model):
    """A message (direct, or mentioning the user) owed to a user's attention."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey("messaging.ChatMessage", on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey("rooms.ChatRoom", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Listed in this e-mail (never listed again).
    digest = models.ForeignKey(
        "Digest", null=True, blank=True, on_delete=models.SET_NULL, related_name="notices"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "message"], name="notice_user_message_unique")
        ]
        indexes = [models.Index(fields=["user", "digest", "created_at"], name="notice_pending_idx")]

    def __str__(self) -> str:
        return f"message {self.message_id} for {self.user_id}"


class PushDelivery(models.Model):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    STATES = ((PENDING, "Pending"), (SENT, "Sent"), (FAILED, "Failed"))

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(
        PushSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    state = models.CharField(max_length=8, choices=STATES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notice", "subscription"], name="push_delivery_unique")
        ]

    def __str__(self) -> str:
        return f"{self.notice} to {self.subscription_id}: {self.state}"


class Digest(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"digest {self.pk} to {self.email}"
