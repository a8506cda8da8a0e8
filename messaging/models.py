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
