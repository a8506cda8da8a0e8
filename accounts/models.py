import secrets

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

    def _create_user(self, username, email, password, **extra_fields):  # type: ignore[override]
        # createsuperuser and friends know nothing of nickname#tag: give such users one.
        if not extra_fields.get("nickname"):
            extra_fields["nickname"] = (username or "user")[:32]
        if not extra_fields.get("tag"):
            extra_fields["tag"] = self.free_tag(nickname=extra_fields["nickname"])
        extra_fields.setdefault("is_guest", False)
        return super()._create_user(username, email, password, **extra_fields)


class User(AbstractUser):
    nickname = models.CharField(max_length=32)
    tag = models.CharField(max_length=4, validators=[RegexValidator(r"^\d{4}$")])
    is_guest = models.BooleanField(default=False)

    objects = ChatUserManager()

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
