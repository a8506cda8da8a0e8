"""The ``user`` wire object."""

from typing import Any

from accounts.models import User


def user_data(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "nickname": user.nickname,
        "tag": user.tag,
        "display_name": user.display_name,
        "is_guest": user.is_guest,
    }
