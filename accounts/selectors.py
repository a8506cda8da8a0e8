"""Reads for identities."""

from datetime import UTC, datetime

from channels.db import database_sync_to_async
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from chatsite.foundation.codes import Close


class TokenRefused(Exception):
    """The token cannot open a socket; ``close_code`` says why (4401 or 4403)."""

    def __init__(self, close_code: int) -> None:
        super().__init__(close_code)
        self.close_code = close_code


def user_get_by_access_token(*, raw: str) -> tuple[User, datetime]:
    """The active user an *access* token names, and when the token expires.

    ``AccessToken`` checks the signature, the expiry (with the configured leeway) and that
    ``token_type`` is ``access``: a refresh token never authenticates a socket.
    """
    try:
        # simplejwt annotates the argument as a Token; it is the encoded token (str).
        token = AccessToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise TokenRefused(Close.AUTH) from exc
    user = User.objects.filter(pk=token.get("user_id")).first()
    if user is None:
        raise TokenRefused(Close.AUTH)
    if not user.is_active:
        raise TokenRefused(Close.BANNED)
    return user, datetime.fromtimestamp(int(token["exp"]), tz=UTC)


auser_get_by_access_token = database_sync_to_async(user_get_by_access_token)
