"""Writes for identities: guests, claiming, bans."""

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User, random_tag
from accounts.names import ADJECTIVES, ANIMALS
from chatsite.foundation.codes import Close, Code
from chatsite.foundation.errors import BadRequest, Conflict
from chatsite.foundation.publish import publish_on_commit, user_group

_rng = secrets.SystemRandom()


def guest_create(*, attempts: int = 10) -> User:
    """A new guest with a random ``Nickname#1234``; a taken pair is retried with another."""
    for _ in range(attempts):
        nickname = _rng.choice(ADJECTIVES) + _rng.choice(ANIMALS)
        try:
            with transaction.atomic():
                user = User(
                    username=f"guest-{secrets.token_hex(12)}",
                    nickname=nickname,
                    tag=random_tag(),
                    is_guest=True,
                )
                user.set_unusable_password()
                user.save()
                return user
        except IntegrityError:
            continue
    raise Conflict(gettext("Could not mint a guest identity; try again."))


def tokens_for_user(*, user: User) -> dict[str, str]:
    """An access/refresh pair; both carry ``nickname`` and ``tag`` claims."""
    refresh = RefreshToken.for_user(user)
    refresh["nickname"] = user.nickname
    refresh["tag"] = user.tag
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


@transaction.atomic
def user_claim(*, user: User, username: str, password: str) -> User:
    """Turn a guest into a named account: same id, same nickname#tag, same history."""
    if not user.is_guest:
        raise BadRequest(gettext("This identity is already claimed."))
    username = username.strip()
    try:
        User.username_validator(username)
    except DjangoValidationError as exc:
        raise BadRequest(
            gettext("A username has letters, digits and @ . + - _ only (no spaces).")
        ) from exc
    if User.objects.filter(username__iexact=username).exclude(pk=user.pk).exists():
        raise _username_taken()
    user.username = username
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise BadRequest(" ".join(exc.messages)) from exc
    user.set_password(password)
    user.is_guest = False
    try:
        with transaction.atomic():
            user.save(update_fields=["username", "password", "is_guest"])
    except IntegrityError as exc:
        raise _username_taken() from exc
    return user


def _username_taken() -> Conflict:
    error = Conflict(gettext("That username is taken."))
    error.code = Code.USERNAME_TAKEN
    return error


@transaction.atomic
def user_ban(*, user: User) -> User:
    """Deactivate: tokens stop working everywhere and open sockets close with 4403 at once."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    outstanding = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    publish_on_commit(user_group(user.id), "close", code=Close.BANNED)
    return user


@transaction.atomic
def user_unban(*, user: User) -> User:
    user.is_active = True
    user.save(update_fields=["is_active"])
    return user
