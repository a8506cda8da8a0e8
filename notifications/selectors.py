"""Reads for notifications: a user's chosen language, read on every signed-in request and
WebSocket handshake, so kept as a snapshot (``foundation.snapshots``: a hit costs no query
and, in the embedded default, no hop to the database thread; an unreachable cache is a
database read). Written only by ``services.settings_update``, which invalidates it."""

from __future__ import annotations

from chatsite.foundation.snapshots import asnapshot_get, snapshot_get, snapshot_invalidate
from notifications.models import NotificationSettings

SNAPSHOT = "language"


def _language_row(user_id: int) -> str:
    chosen = (
        NotificationSettings.objects.filter(user_id=user_id)
        .values_list("language", flat=True)
        .first()
    )
    return str(chosen or "")


def user_language(*, user_id: int) -> str:
    """The user's settings ``language`` ("en", "ko"), or "" when they chose none."""
    return snapshot_get(SNAPSHOT, user_id, lambda: _language_row(user_id)) or ""


async def auser_language(*, user_id: int) -> str:
    """``user_language`` from the event loop."""
    return await asnapshot_get(SNAPSHOT, user_id, lambda: _language_row(user_id)) or ""


def user_language_changed(*, user_id: int) -> None:
    """The settings row changed: every process reads it again."""
    snapshot_invalidate(SNAPSHOT, user_id)
