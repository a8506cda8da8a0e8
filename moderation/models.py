"""Reports, blocks, room mutes, content rules, and where guests come from (for address bans).

A report points at a message by the string ``"messaging.ChatMessage"``: ``moderation`` sits
below ``messaging`` (messaging asks ``moderation.services.check_send`` on every send), so it
names the model without importing it.
"""

from django.conf import settings
from django.db import models

from rooms.models import ChatRoom


class Block(models.Model):
    """``blocker`` does not want to hear from ``blocked``."""

    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made"
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_pair_unique"),
            models.CheckConstraint(
                condition=~models.Q(blocker=models.F("blocked")), name="block_not_self"
            ),
        ]
        indexes = [models.Index(fields=["blocked", "blocker"], name="block_reverse_idx")]

    def __str__(self) -> str:
        return f"{self.blocker} blocks {self.blocked}"


class RoomMute(models.Model):
    """Staff muted ``user`` in ``room`` until ``until`` (a kick is a mute of 10 minutes too)."""

    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    until = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["room", "user", "-until"], name="mute_room_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} muted in {self.room} until {self.until:%Y-%m-%d %H:%M}"


class ContentRule(models.Model):
    WORD = "word"
    REGEX = "regex"
    LINK_DOMAIN = "link_domain"
    KINDS = ((WORD, "Word"), (REGEX, "Regular expression"), (LINK_DOMAIN, "Link domain"))
    REFUSE = "refuse"
    MASK = "mask"
    ACTIONS = ((REFUSE, "Refuse the message"), (MASK, "Mask the match"))
    PUBLIC = "public"
    DIRECT = "direct"
    BOTH = "both"
    SCOPES = ((PUBLIC, "Public rooms"), (DIRECT, "Direct rooms"), (BOTH, "Both"))

    kind = models.CharField(max_length=12, choices=KINDS)
    pattern = models.CharField(
        max_length=300,
        help_text="A word or phrase (whole words, any case); a regular expression (no "
        "backreferences); or a domain (example.com also covers its subdomains).",
    )
    action = models.CharField(max_length=8, choices=ACTIONS, default=REFUSE)
    scope = models.CharField(max_length=8, choices=SCOPES, default=BOTH)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.pattern} ({self.action}, {self.scope})"

    def clean(self) -> None:
        from moderation.rules import validate_rule

        validate_rule(self)


class Report(models.Model):
    SPAM = "spam"
    HARASSMENT = "harassment"
    SCAM = "scam"
    INAPPROPRIATE = "inappropriate"
    OTHER = "other"
    REASONS = (
        (SPAM, "Spam"),
        (HARASSMENT, "Harassment"),
        (SCAM, "Scam"),
        (INAPPROPRIATE, "Inappropriate"),
        (OTHER, "Other"),
    )
    OPEN = "open"
    RESOLVED = "resolved"
    STATUSES = ((OPEN, "Open"), (RESOLVED, "Resolved"))
    # What staff did (recorded with who and when).
    ACTIONS = (
        ("remove", "Removed the message"),
        ("mute_10m", "Muted 10 minutes"),
        ("mute_1h", "Muted 1 hour"),
        ("mute_1d", "Muted 1 day"),
        ("kick", "Kicked"),
        ("ban", "Banned"),
        ("dismiss", "Dismissed"),
        ("restore", "Restored the hidden message"),
    )

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made"
    )
    message = models.ForeignKey(
        "messaging.ChatMessage",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_received"
    )
    room = models.ForeignKey(
        ChatRoom, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(max_length=16, choices=REASONS)
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=8, choices=STATUSES, default=OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=12, choices=ACTIONS, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["status", "-created_at"], name="report_status_idx"),
            models.Index(fields=["message", "status"], name="report_message_idx"),
        ]

    def __str__(self) -> str:
        what = f"message {self.message_id}" if self.message_id else f"user {self.target}"
        return f"{self.get_reason_display()}: {what}"


class AutoHide(models.Model):
    """A public message hidden by community reports, pending staff review."""

    message = models.OneToOneField(
        "messaging.ChatMessage", on_delete=models.CASCADE, related_name="+"
    )
    hidden_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    restored = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"hidden message {self.message_id}"


class GuestOrigin(models.Model):
    """The client address a guest was minted from: mint counts per address, address bans."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    address = models.CharField(max_length=45)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["address", "created_at"], name="origin_address_idx")]

    def __str__(self) -> str:
        return f"{self.user} from {self.address}"


class AddressBan(models.Model):
    """No new guests from ``address`` until ``until`` (a banned guest's address)."""

    address = models.CharField(max_length=45)
    until = models.DateTimeField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["address", "-until"], name="addressban_idx")]

    def __str__(self) -> str:
        return f"{self.address} until {self.until:%Y-%m-%d %H:%M}"
