"""Web Push: the VAPID key, checking what a browser hands us, and one send.

The server posts only to endpoints under ``CHAT_PUSH_ENDPOINTS``: scheme, host and port
compared exactly, then the path as a prefix, so a client cannot make it post anywhere else
(no SSRF). Payloads are encrypted (``aes128gcm``, RFC 8291) and signed with VAPID (RFC
8292) by ``pywebpush``.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import logging
import re
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.utils.translation import gettext
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from chatsite.foundation.errors import BadRequest

log = logging.getLogger(__name__)

ENDPOINT_MAX = 1024
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


def b64url_decode(value: object, *, field: str) -> bytes:
    if not isinstance(value, str) or not value or not _B64URL.match(value):
        raise BadRequest(gettext("%(field)s must be base64url.") % {"field": field})
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(gettext("%(field)s must be base64url.") % {"field": field}) from exc


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return parts.scheme, parts.hostname.lower(), port


def endpoint_allowed(endpoint: str, prefixes: list[str]) -> bool:
    """True if ``endpoint`` is under one of ``prefixes``: same scheme, host and port, and a
    path that starts with the prefix's path."""
    parts = urlsplit(endpoint)
    if parts.username is not None or parts.password is not None or parts.fragment:
        return False
    origin = _origin(endpoint)
    if origin is None:
        return False
    for prefix in prefixes:
        if _origin(prefix) == origin and parts.path.startswith(urlsplit(prefix).path or "/"):
            return True
    return False


def clean_subscription(*, endpoint: object, keys: object) -> tuple[str, str, str]:
    """(endpoint, p256dh, auth) of a browser's ``PushSubscription``; ``BadRequest`` if any
    part is malformed or the endpoint is not an allowed push service."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > ENDPOINT_MAX:
        raise BadRequest(
            gettext("endpoint must be a URL of at most %(endpoint_max)s characters.")
            % {"endpoint_max": ENDPOINT_MAX}
        )
    if not endpoint_allowed(endpoint, settings.CHAT["PUSH_ENDPOINTS"]):
        raise BadRequest(gettext("endpoint is not a push service this server posts to."))
    if not isinstance(keys, dict):
        raise BadRequest(gettext("keys must be an object with p256dh and auth."))
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    raw_key = b64url_decode(p256dh, field="keys.p256dh")
    if len(raw_key) != 65 or raw_key[0] != 4:
        raise BadRequest(gettext("keys.p256dh must be an uncompressed P-256 point (65 bytes)."))
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw_key)
    except ValueError as exc:
        raise BadRequest(gettext("keys.p256dh is not a point on P-256.")) from exc
    if len(b64url_decode(auth, field="keys.auth")) != 16:
        raise BadRequest(gettext("keys.auth must be 16 bytes."))
    assert isinstance(p256dh, str) and isinstance(auth, str)  # checked by b64url_decode
    return endpoint, p256dh, auth


@functools.cache
def vapid() -> Vapid:
    key = settings.VAPID_PRIVATE_KEY.strip()
    if key.startswith("-----BEGIN"):
        return Vapid.from_pem(key.encode())
    return Vapid.from_string(private_key=key)


def vapid_public_key() -> str:
    """The application server key a browser subscribes with (base64url, uncompressed)."""
    raw = vapid().public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return b64url_encode(raw)


class Outcome(enum.Enum):
    SENT = "sent"
    GONE = "gone"  # 404/410: the subscription is dead
    RETRY = "retry"  # anything else: try again later


_local = threading.local()


def _session() -> requests.Session:
    """One keep-alive session per thread (the worker sends one push after another)."""
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def send(*, endpoint: str, p256dh: str, auth: str, payload: str, topic: str) -> Outcome:
    """Post one encrypted push. ``topic`` lets the push service replace an undelivered
    copy of the same notification instead of showing it twice."""
    if not endpoint_allowed(endpoint, settings.CHAT["PUSH_ENDPOINTS"]):
        # The list changed since the browser subscribed: never post outside it.
        return Outcome.GONE
    headers: dict[str, Any] = {"Topic": topic, "Urgency": "high"}
    try:
        webpush(
            subscription_info={"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
            data=payload,
            vapid_private_key=vapid(),
            vapid_claims={"sub": settings.VAPID_SUBJECT},
            ttl=24 * 3600,
            timeout=settings.CHAT["PUSH_TIMEOUT"],
            headers=headers,
            requests_session=_session(),
        )
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in (404, 410):
            return Outcome.GONE
        log.warning("push failed (%s), will retry", status)
        return Outcome.RETRY
    except requests.RequestException as exc:
        log.warning("push failed (%r), will retry", exc)
        return Outcome.RETRY
    return Outcome.SENT
