"""Wire objects of identities: ``user``, ``me`` and the token responses (PROTOCOL.md).

Each serializer's declared fields are the definition: the OpenAPI schema is generated from
them. ``UserSerializer`` is nested in every message, so its ``to_representation`` is the same
mapping written out flat (``user_data``); a test holds it equal to DRF's field-by-field output.
"""

from typing import Any

from rest_framework import serializers

from accounts.models import User


class UserSerializer(serializers.Serializer[User]):
    id = serializers.IntegerField()
    nickname = serializers.CharField()
    tag = serializers.CharField()
    display_name = serializers.CharField()
    is_guest = serializers.BooleanField()

    def to_representation(self, instance: User) -> dict[str, Any]:
        return user_data(instance)


def user_data(user: User) -> dict[str, Any]:
    """The ``user`` object: ``UserSerializer``'s fields, built directly (the hot path)."""
    return {
        "id": user.id,
        "nickname": user.nickname,
        "tag": user.tag,
        "display_name": user.display_name,
        "is_guest": user.is_guest,
    }


class MeSerializer(UserSerializer):
    """``GET /api/me/``: the user object, plus (additive) whether the client shows staff tools."""

    is_staff = serializers.BooleanField()

    def to_representation(self, instance: User) -> dict[str, Any]:
        return {**user_data(instance), "is_staff": instance.is_staff}


class TokensSerializer(serializers.Serializer[dict[str, Any]]):
    """An access/refresh pair (``POST /api/auth/refresh/``)."""

    access = serializers.CharField()
    refresh = serializers.CharField()


class SessionSerializer(TokensSerializer):
    """A new guest or a login: the tokens and the user they name."""

    user = UserSerializer()


def session_data(*, user: User, tokens: dict[str, str]) -> dict[str, Any]:
    return SessionSerializer({**tokens, "user": user}).data
