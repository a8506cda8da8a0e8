from django.conf import settings
from django.db import models

from images.models import StoredImage
from rooms.models import ChatRoom


class ChatMessage(models.Model):
    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    body = models.TextField()
    client_id = models.CharField(max_length=64)
    # seq: the room's number when the message was created (its place); rev: the number of
    # its latest change. A client holding ``cursor`` = highest rev applied asks for rev > cursor.
    seq = models.BigIntegerField()
    rev = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # (v1.1) A reply's parent, in the same room. Its preview is built from the parent row
    # when the message is read (``messaging.replies``), so it shows the parent's latest edit.
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # (v1.1) What the wire carries, kept on the row so a broadcast or a page of history costs
    # no query for them: the ids mentioned in ``body`` (``messaging.mentions``; ``Mention``
    # is their index for counting), and the reaction summary ``[{"emoji", "count", "users"}]``
    # (``messaging.reactions``; ``Reaction`` holds who reacted with what).
    mentions = models.JSONField(default=list, blank=True)
    reactions = models.JSONField(default=list, blank=True)
    # The message's attachments as ``StoredImage.meta()`` dicts, copied when the send named
    # them: every encode of a message (broadcast, history, replay) reads them from the row
    # it has, with no query per message. ``Attachment`` rows stay the truth about files.
    media = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="message_room_seq_unique"),
            # A send is idempotent per room: the same client_id in another room is another
            # message. Also the index of the retry lookup (room, author, client_id).
            models.UniqueConstraint(
                fields=["room", "author", "client_id"], name="message_room_author_client_id_unique"
            ),
        ]
        indexes = [models.Index(fields=["room", "rev"], name="message_room_rev_idx")]

    def __str__(self) -> str:
        return f"{self.room_id}#{self.seq}"


class Reaction(models.Model):
    """One user's reaction with one emoji to one message."""

    message = models.ForeignKey(ChatMessage, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Also the index of a message's reactions by emoji, in the order they came.
            models.UniqueConstraint(
                fields=["message", "emoji", "user"], name="reaction_message_emoji_user_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.emoji} by {self.user_id} on {self.message_id}"


class Mention(models.Model):
    """A message mentioning a user (not its author): the index ``mentions_unread`` counts
    with, so ``room`` and ``seq`` are the message's, copied."""

    message = models.ForeignKey(ChatMessage, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="+")
    seq = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="mention_message_user_unique"),
        ]
        indexes = [models.Index(fields=["user", "room", "seq"], name="mention_user_room_seq_idx")]

    def __str__(self) -> str:
        return f"{self.message_id} mentions {self.user_id}"
class Attachment(StoredImage):
    """An image uploaded into a room: pending (``message`` null) until a send names it;
    a pending one older than ``ATTACHMENT_PENDING_SECONDS`` is purged with its files."""

    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="+")
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    message = models.ForeignKey(
        ChatMessage, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(message__isnull=True),
                name="attachment_pending_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} in {self.room_id}"
