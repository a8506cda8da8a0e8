from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.models import User

        # Every save of a user (a ban, a lifted ban, a claim, an admin edit) and every
        # deletion: the handshake's cached snapshot of them goes, in every process.
        post_save.connect(_user_changed, sender=User, dispatch_uid="accounts.user_snapshot")
        post_delete.connect(_user_changed, sender=User, dispatch_uid="accounts.user_snapshot_del")


def _user_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    from accounts.selectors import user_changed

    user_changed(user_id=instance.pk)
