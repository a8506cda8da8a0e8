"""Reads for notifications: a user's chosen language, cached (read on every signed-in request
and WebSocket handshake; written only by ``services.settings_update``)."""

from __future__ import annotations

from django.core.cache import cache

from notifications.models import NotificationSettings

LANGUAGE_CACHE_SECONDS = 24 * 3600


def language_cache_key(user_id: int) -> str:
    return f"notifications:language:{user_id}"


def user_language(*, user_id: int) -> str:
    """The user's settings ``language`` ("en", "ko"), or "" when they chose none."""
    key = language_cache_key(user_id)
    value = cache.get(key)
    if value is None:
        value = (
            NotificationSettings.objects.filter(user_id=user_id)
            .values_list("language", flat=True)
            .first()
        ) or ""
        cache.set(key, value, LANGUAGE_CACHE_SECONDS)
    return str(value)
