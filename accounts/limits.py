"""Password guessing: failed logins (and claims) counted per client address and per name.

``LOGIN_FAILURES`` failures within ``LOGIN_WINDOW`` seconds of the first lock the address
or the username until the window ends: further attempts are refused without checking the
password (so they cost no hashing either). The counts live in Django's cache: Redis in
production, so every process shares them. A correct password does not clear the count: a
guesser who also knows one account's password gains nothing from it.

Locking a username lets anyone keep its owner out for the window by failing on purpose
(the price of the per-name limit, which catches guessing spread over many addresses).
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext
from rest_framework.request import Request

from chatsite.foundation.addresses import address_from_meta
from chatsite.foundation.errors import RateLimited

PREFIX = "login-fail"


def client_address(request: HttpRequest | Request) -> str:
    """The client's address by the project's one rule (``foundation.addresses``: the peer as
    the server resolved it, or ``NUM_PROXIES`` from the right of ``X-Forwarded-For``) — the
    same address the throttles, bans and proof-of-work see."""
    return address_from_meta(request.META)


def login_keys(
    *, address: str, username: str | None = None, claimer: int | None = None
) -> list[str]:
    keys = [f"{PREFIX}:addr:{address}"]
    if username:
        keys.append(f"{PREFIX}:name:{username.strip().casefold()[:150]}")
    if claimer is not None:
        keys.append(f"{PREFIX}:claimer:{claimer}")
    return keys


def login_check(*, keys: list[str]) -> None:
    """``RateLimited`` (with ``retry_after``) if any of ``keys`` used up its failures."""
    limit = settings.CHAT["LOGIN_FAILURES"]
    counts = cache.get_many(keys)
    locked = [key for key in keys if int(counts.get(key) or 0) >= limit]
    if not locked:
        return
    window = settings.CHAT["LOGIN_WINDOW"]
    since = cache.get_many([f"{key}:since" for key in locked]).values()
    now = time.time()
    wait = max((float(t) + window - now for t in since), default=window)
    seconds = max(1, math.ceil(wait))
    raise RateLimited(
        gettext("Too many failed attempts; try again in %(seconds)s s.") % {"seconds": seconds},
        retry_after=seconds,
    )


def login_failed(*, keys: list[str]) -> None:
    """Count one failure under each of ``keys``."""
    window = math.ceil(settings.CHAT["LOGIN_WINDOW"])
    now = time.time()
    for key in keys:
        if cache.add(key, 0, window):
            cache.set(f"{key}:since", now, window)
        try:
            cache.incr(key)
        except ValueError:  # expired between the two calls: start again
            cache.set(key, 1, window)
            cache.set(f"{key}:since", now, window)
