"""WebSocket handshake: who is connecting, and from where."""

from typing import Any

from channels.security.websocket import OriginValidator
from django.conf import settings

from accounts.selectors import TokenRefused, auser_get_by_access_token
from chatsite.foundation.codes import BEARER_PREFIX, Close
from chatsite.i18n import socket_language


def token_from_scope(scope: dict[str, Any]) -> str | None:
    """The access token from the ``bearer.<token>`` subprotocol or an Authorization header."""
    for protocol in scope.get("subprotocols") or ():
        if protocol.startswith(BEARER_PREFIX):
            return protocol[len(BEARER_PREFIX) :]
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
    return None


class JwtAuthMiddleware:
    """Puts ``user``, ``token_exp``, ``auth_close`` (None, 4401 or 4403) and ``language``
    (chatsite.i18n: the user's settings, the cookie, Accept-Language) in the scope.

    The consumer, not this middleware, closes a refused socket: the contract is "accept,
    then close with 4401/4403, sending nothing else".
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        # Plain ints in the scope: the consumer hands them to the server, and autobahn
        # (Daphne) refuses a close code whose type is not exactly ``int``.
        scope = dict(scope, user=None, token_exp=None, auth_close=int(Close.AUTH), language=None)
        raw = token_from_scope(scope)
        if raw:
            try:
                scope["user"], scope["token_exp"] = await auser_get_by_access_token(raw=raw)
                scope["auth_close"] = None
                scope["language"] = await socket_language(scope)
            except TokenRefused as exc:
                scope["auth_close"] = int(exc.close_code)
        return await self.inner(scope, receive, send)


class BrowserOriginValidator(OriginValidator):
    """Refuse handshakes whose ``Origin`` is not an allowed host.

    A missing Origin is let through: browsers always send one, so only non-browser clients
    (which cannot be used for cross-site WebSocket hijacking) arrive without it.
    """

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)


def origin_checked(inner: Any) -> BrowserOriginValidator:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(inner, hosts)
