from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"

    def ready(self) -> None:
        # messaging calls its hooks inside the send's transaction; it does not import us.
        from messaging.services import message_stored_hooks
        from notifications.services import message_stored

        if message_stored not in message_stored_hooks:
            message_stored_hooks.append(message_stored)
