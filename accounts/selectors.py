"""Reads for identities."""

from datetime import UTC, datetime

from channels.db import database_sync_to_async
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from chatsite.foundation.codes import Close
from chatsite.foundation.snapshots import snapshot_get, snapshot_invalidate


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
    user = user_get_cached(user_id=token.get("user_id"))
    if user is None:
        raise TokenRefused(Close.AUTH)
    if not user.is_active:
        raise TokenRefused(Close.BANNED)
    return user, datetime.fromtimestamp(int(token["exp"]), tz=UTC)


auser_get_by_access_token = database_sync_to_async(user_get_by_access_token)


# Every stored field but the password hash: what a socket needs of its user (identity,
# is_active, is_staff, is_guest, date_joined), never a secret in the shared cache.
_SNAPSHOT_FIELDS = tuple(f.attname for f in User._meta.concrete_fields if f.attname != "password")


def user_get_cached(*, user_id: object) -> User | None:
    """The user ``user_id`` names, from the snapshot cache (``foundation.snapshots``): a
    known user costs no query. Any change to the row (a ban, a claim) invalidates it in
    every process sharing the cache. The instance has ``password`` deferred: saving it
    writes only the fields it holds."""
    if isinstance(user_id, str) and user_id.isdecimal():
        user_id = int(user_id)
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        return None
    values = snapshot_get("user", user_id, lambda: _user_values(user_id))
    if values is None:
        return None
    return User.from_db("default", list(_SNAPSHOT_FIELDS), list(values))


def _user_values(user_id: int) -> tuple[object, ...] | None:
    row = User.objects.filter(pk=user_id).values_list(*_SNAPSHOT_FIELDS).first()
    return None if row is None else tuple(row)


def user_changed(*, user_id: int) -> None:
    """The row changed (saved or deleted): forget its snapshot everywhere."""
    snapshot_invalidate("user", user_id)
