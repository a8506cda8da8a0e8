"""Django's model backend with failed logins throttled (``accounts.limits``).

Every password check goes through here, the admin's login as much as the API's: a locked
address or username is refused before its password is hashed.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts.limits import client_address, login_check, login_failed, login_keys
from accounts.models import User
from chatsite.foundation.errors import RateLimited


class ThrottledModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if request is None or username is None or password is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        keys = login_keys(address=client_address(request), username=username)
        try:
            login_check(keys=keys)
        except RateLimited as exc:
            # Django's ``authenticate`` takes this as "refused, ask no other backend".
            raise PermissionDenied(exc.detail) from exc
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failed(keys=keys)
        return user
