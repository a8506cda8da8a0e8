"""Password rules beyond Django's own (settings.AUTH_PASSWORD_VALIDATORS)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext


class NotBlankPasswordValidator:
    """A password of only whitespace (eight spaces pass every length rule) is refused."""

    def validate(self, password: str, user: Any = None) -> None:
        if not password.strip():
            raise ValidationError(
                gettext("A password needs more than spaces."), code="password_blank"
            )

    def get_help_text(self) -> str:
        return gettext("Your password cannot be only spaces.")
