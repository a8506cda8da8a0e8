"""Reads for identities."""

from datetime import UTC, datetime

from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from chatsite.foundation.codes import Close
from chatsite.foundation.snapshots import asnapshot_get, snapshot_get, snapshot_invalidate


class TokenRefused(Exception):
    """The token cannot open a socket; ``close_code`` says why (4401 or 4403)."""

    def __init__(self, close_code: int) -> None:
        super().__init__(close_code)
        self.close_code = close_code


def _access_token(raw: str) -> AccessToken:
    """``AccessToken`` checks the signature, the expiry (with the configured leeway) and that
    ``token_type`` is ``access``: a refresh token never authenticates a socket. No query."""
    try:
        # simplejwt annotates the argument as a Token; it is the encoded token (str).
        return AccessToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise TokenRefused(Close.AUTH) from exc


def _checked(user: User | None, token: AccessToken) -> tuple[User, datetime]:
    if user is None:
        raise TokenRefused(Close.AUTH)
    if not user.is_active:
        raise TokenRefused(Close.BANNED)
    return user, datetime.fromtimestamp(int(token["exp"]), tz=UTC)


def user_get_by_access_token(*, raw: str) -> tuple[User, datetime]:
    """The active user an *access* token names, and when the token expires."""
    token = _access_token(raw)
    return _checked(user_get_cached(user_id=token.get("user_id")), token)


async def auser_get_by_access_token(*, raw: str) -> tuple[User, datetime]:
    """As ``user_get_by_access_token``, from the event loop: the token is checked here and
    a known user's snapshot read without a hop to the database thread when the cache is
    in-process (``asnapshot_get``)."""
    token = _access_token(raw)
    user_id = _user_id(token.get("user_id"))
    if user_id is None:
        raise TokenRefused(Close.AUTH)
    values = await asnapshot_get("user", user_id, lambda: _user_values(user_id))
    return _checked(_user_from(values), token)


# Every stored field but the password hash: what a socket needs of its user (identity,
# is_active, is_staff, is_guest, date_joined), never a secret in the shared cache.
_SNAPSHOT_FIELDS = tuple(f.attname for f in User._meta.concrete_fields if f.attname != "password")


def user_get_cached(*, user_id: object) -> User | None:
    """The user ``user_id`` names, from the snapshot cache (``foundation.snapshots``): a
    known user costs no query. Any change to the row (a ban, a claim) invalidates it in
    every process sharing the cache. The instance has ``password`` deferred: saving it
    writes only the fields it holds."""
    pk = _user_id(user_id)
    if pk is None:
        return None
    return _user_from(snapshot_get("user", pk, lambda: _user_values(pk)))


def _user_id(claim: object) -> int | None:
    if isinstance(claim, str) and claim.isdecimal():
        return int(claim)
    if not isinstance(claim, int) or isinstance(claim, bool):
        return None
    return claim


def _user_from(values: tuple[object, ...] | None) -> User | None:
    if values is None:
        return None
    return User.from_db("default", list(_SNAPSHOT_FIELDS), list(values))


def _user_values(user_id: int) -> tuple[object, ...] | None:
    row = User.objects.filter(pk=user_id).values_list(*_SNAPSHOT_FIELDS).first()
    return None if row is None else tuple(row)


def user_changed(*, user_id: int) -> None:
    """The row changed (saved or deleted): forget its snapshot everywhere."""
    snapshot_invalidate("user", user_id)
