"""Images in rooms: upload (pending), claim by a send, removal with a message, purge.

Kept apart from ``messaging.services`` on purpose: the send path calls two functions from
here (``attachment_ids_clean`` before its transaction, ``attachments_claim`` inside it), the
delete path one (``attachments_drop``); everything else about media lives here or in
``images``.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework.request import Request

from accounts.models import User
from chatsite.foundation.errors import BadRequest, NotFound
from images.storage import files_delete_on_commit
from images.uploads import image_ingest, image_pool_check, upload_file, upload_rate_check
from messaging.models import Attachment, ChatMessage
from rooms.models import ChatRoom


def attachment_upload(*, room: ChatRoom, user: User, request: Request) -> Attachment:
    """Receive, process and store one image into ``room`` (already checked readable by
    ``user``): a pending attachment of ``user`` there."""
    image_pool_check()  # full: 503 before the body is read or the upload counted
    upload_rate_check(user_id=user.id)
    upload = upload_file(request)
    ingested = image_ingest(upload=upload, prefix=f"rooms/{room.id}")
    try:
        return Attachment.objects.create(room=room, uploader=user, **ingested.fields)
    except BaseException:
        files_delete_on_commit(ingested.files)  # not autocommit-wrapped: deletes at once
        raise


def attachment_ids_clean(value: object) -> list[int]:
    """The ``attachments`` of a ``send`` frame: up to ``ATTACHMENTS_MAX`` distinct ids."""
    if value is None:
        return []
    most = settings.CHAT["ATTACHMENTS_MAX"]
    if not isinstance(value, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) and 0 < item < 2**63 for item in value
    ):
        raise BadRequest(gettext("attachments must be a list of attachment ids."))
    if len(value) > most:
        raise BadRequest(gettext("A message has at most %(most)s attachments.") % {"most": most})
    if len(set(value)) != len(value):
        raise BadRequest(gettext("An attachment is named twice."))
    return list(value)


def attachments_claim(*, message: ChatMessage, ids: list[int]) -> None:
    """Attach the author's pending uploads ``ids`` in the message's room to ``message``
    (in the send's transaction); ``NotFound`` if any is not one (another user's, another
    room's, already sent, or purged), and then nothing is attached."""
    pending = list(
        Attachment.objects.select_for_update()
        .filter(pk__in=ids, room_id=message.room_id, uploader_id=message.author_id)
        .filter(message__isnull=True)
    )
    if len(pending) != len(ids):
        raise NotFound(
            gettext("No such attachment (it must be your own upload to this room, unsent).")
        )
    by_id = {attachment.pk: attachment for attachment in pending}
    Attachment.objects.filter(pk__in=ids).update(message=message)
    message.media = [by_id[pk].meta() for pk in ids]  # in the order the sender gave
    message.save(update_fields=["media"])


def attachments_drop(*, message: ChatMessage) -> None:
    """Remove a message's attachments (its delete's transaction); files go after commit.
    The caller saves ``message`` with ``media`` among its fields."""
    if not message.media:
        return
    attachments = Attachment.objects.filter(message=message)
    files_delete_on_commit([name for a in attachments for name in a.files()])
    attachments.delete()
    message.media = []


def room_files_delete_on_commit(*, room_ids: list[int]) -> None:
    """The files of every attachment in rooms about to be deleted (their rows cascade)."""
    names = Attachment.objects.filter(room_id__in=room_ids).values_list("file", "thumb")
    files_delete_on_commit([name for pair in names for name in pair])


def attachments_purge_pending() -> int:
    """Delete uploads no send named within ``ATTACHMENT_PENDING_SECONDS``, and their files;
    how many. Locks the rows: a send claiming one meanwhile either wins (and it is kept) or
    finds it gone (``not_found``)."""
    cutoff = timezone.now() - timedelta(seconds=settings.CHAT["ATTACHMENT_PENDING_SECONDS"])
    with transaction.atomic():
        stale = list(
            Attachment.objects.select_for_update()
            .filter(message__isnull=True, created_at__lt=cutoff)
            .order_by("id")
        )
        files_delete_on_commit([name for a in stale for name in a.files()])
        Attachment.objects.filter(pk__in=[a.pk for a in stale]).delete()
    return len(stale)
