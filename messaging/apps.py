from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MessagingConfig(AppConfig):
    name = "messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from messaging.search_index import sqlite_triggers_ensure

        # Schema changes on SQLite rebuild the messages table and drop its triggers.
        post_migrate.connect(sqlite_triggers_ensure, sender=self)
