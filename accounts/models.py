import secrets
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models

_rng = secrets.SystemRandom()


def random_tag() -> str:
    return f"{_rng.randrange(10_000):04d}"


class NoFreeTag(Exception):
    """Every tag tried with this nickname was taken."""


class ChatUserManager(UserManager["User"]):
    def free_tag(self, *, nickname: str, attempts: int = 50) -> str:
        """A tag not yet taken with ``nickname``."""
        for _ in range(attempts):
            tag = random_tag()
            if not self.filter(nickname=nickname, tag=tag).exists():
                return tag
        raise NoFreeTag(nickname)

    def _with_identity(self, username: str, extra_fields: dict[str, Any]) -> dict[str, Any]:
        # createsuperuser and friends know nothing of nickname#tag: give such users one.
        fields = {"is_guest": False, **extra_fields}
        if not fields.get("nickname"):
            fields["nickname"] = (username or "user")[:32]
        if not fields.get("tag"):
            fields["tag"] = self.free_tag(nickname=fields["nickname"])
        return fields

    def create_user(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> "User":
        fields = self._with_identity(username, extra)
        return super().create_user(username, email, password, **fields)

    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> "User":
        fields = self._with_identity(username, extra)
        return super().create_superuser(username, email, password, **fields)

    async def acreate_user(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> "User":
        fields = self._with_identity(username, extra)
        return await super().acreate_user(username, email, password, **fields)

    async def acreate_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> "User":
        fields = self._with_identity(username, extra)
        return await super().acreate_superuser(username, email, password, **fields)


class User(AbstractUser):
    nickname = models.CharField(max_length=32)
    tag = models.CharField(max_length=4, validators=[RegexValidator(r"^\d{4}$")])
    is_guest = models.BooleanField(default=False)

    objects: ClassVar[ChatUserManager] = ChatUserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["nickname", "tag"], name="user_nickname_tag_unique"),
        ]
        indexes = [models.Index(fields=["nickname"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return f"{self.nickname}#{self.tag}"
