from typing import Any

from rest_framework import serializers

from notifications.models import NotificationSettings


class SettingsSerializer(serializers.Serializer[NotificationSettings]):
    """``GET /api/me/settings/``."""

    email = serializers.CharField(allow_blank=True, help_text='"" when none is set.')
    email_verified = serializers.BooleanField()
    notify_email = serializers.ChoiceField(choices=NotificationSettings.EMAIL_CHOICES)
    notify_push = serializers.BooleanField()
    language = serializers.SerializerMethodField(help_text='"en", "ko" or null.')

    def get_language(self, prefs: NotificationSettings) -> str | None:
        return prefs.language or None


def settings_data(prefs: NotificationSettings) -> dict[str, Any]:
    return SettingsSerializer(prefs).data


class SettingsInputSerializer(serializers.Serializer[Any]):
    """For the schema only: the service checks each field itself."""

    email = serializers.CharField(required=False, allow_blank=True)
    notify_email = serializers.ChoiceField(
        choices=NotificationSettings.EMAIL_CHOICES, required=False
    )
    notify_push = serializers.BooleanField(required=False)
    language = serializers.ChoiceField(
        choices=NotificationSettings.LANGUAGES, allow_null=True, required=False
    )


class PushKeysSerializer(serializers.Serializer[Any]):
    p256dh = serializers.CharField()
    auth = serializers.CharField()


class PushSubscriptionInputSerializer(serializers.Serializer[Any]):
    endpoint = serializers.CharField()
    keys = PushKeysSerializer()


class PushUnsubscribeInputSerializer(serializers.Serializer[Any]):
    endpoint = serializers.CharField()


class PushKeySerializer(serializers.Serializer[Any]):
    public_key = serializers.CharField(help_text="The VAPID application server key, base64url.")
