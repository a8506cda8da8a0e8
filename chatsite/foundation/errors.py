"""The one error shape: ``{"code", "detail"}`` (plus ``retry_after`` where it applies).

Services raise ``ChatError`` subclasses for expected refusals. The DRF exception handler
below and ``messaging.frames.error_frame`` turn them into the wire shape; anything else is a
bug and is not swallowed.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from chatsite.foundation.codes import Code


class ChatError(Exception):
    code: str = Code.BAD_REQUEST
    status: int = status.HTTP_400_BAD_REQUEST
    # Lazy: a default is translated when the error is answered, in the language of the
    # request or socket (chatsite.i18n); a ``detail`` given is translated where it is raised.
    default_detail: str | Promise = _("Bad request.")

    def __init__(
        self, detail: str | Promise | None = None, *, retry_after: int | None = None
    ) -> None:
        self.detail = detail or self.default_detail
        self.retry_after = retry_after
        super().__init__(self.detail)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "detail": str(self.detail)}
        if self.retry_after is not None:
            data["retry_after"] = self.retry_after
        return data


class BadRequest(ChatError):
    pass


class NotFound(ChatError):
    code = Code.NOT_FOUND
    status = status.HTTP_404_NOT_FOUND
    default_detail = _("Not found.")


class InvalidCredentials(ChatError):
    code = Code.INVALID_CREDENTIALS
    status = status.HTTP_401_UNAUTHORIZED
    default_detail = _("Wrong username or password.")


class Forbidden(ChatError):
    code = Code.FORBIDDEN
    status = status.HTTP_403_FORBIDDEN
    default_detail = _("You may not do that.")


class NotJoined(ChatError):
    code = Code.NOT_JOINED
    status = status.HTTP_409_CONFLICT
    default_detail = _("Join the room first.")


class TooLong(ChatError):
    code = Code.TOO_LONG
    default_detail = _("Too long.")


class Empty(ChatError):
    code = Code.EMPTY
    default_detail = _("A message needs some text.")


class RateLimited(ChatError):
    code = Code.RATE_LIMITED
    status = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = _("Too many requests.")


class RoomClosed(ChatError):
    code = Code.ROOM_CLOSED
    status = status.HTTP_409_CONFLICT
    default_detail = _("This room is closed.")


class UnsupportedMedia(ChatError):
    code = Code.UNSUPPORTED_MEDIA
    status = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_detail = _("Only JPEG, PNG, WebP and GIF images are accepted.")


class TooLarge(ChatError):
    code = Code.TOO_LARGE
    status = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("That file is too large.")


class Conflict(ChatError):
    status = status.HTTP_409_CONFLICT


class Unavailable(ChatError):
    code = Code.UNAVAILABLE
    status = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The service is briefly unavailable; try again.")


class Internal(ChatError):
    """A server fault a retry will not cure: logged with its traceback where it happened."""

    code = Code.INTERNAL
    status = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_detail = _("Something went wrong on our side; it has been logged.")


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        out: list[str] = []
        for key, value in detail.items():
            label = "" if key == "non_field_errors" else f"{key}: "
            out.extend(_flatten(value, prefix + label))
        return out
    if isinstance(detail, list):
        return [line for item in detail for line in _flatten(item, prefix)]
    return [f"{prefix}{detail}"]


_DRF_CODES = {
    exceptions.ValidationError: Code.BAD_REQUEST,
    exceptions.ParseError: Code.BAD_REQUEST,
    exceptions.NotFound: Code.NOT_FOUND,
    exceptions.PermissionDenied: Code.FORBIDDEN,
    exceptions.Throttled: Code.RATE_LIMITED,
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.NotAcceptable: "not_acceptable",
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every 4xx body is ``{"code", "detail"}``: one place, not per-view code."""
    if isinstance(exc, ChatError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        return Response(exc.as_dict(), status=exc.status, headers=headers)
    if isinstance(exc, RequestDataTooBig):
        # DATA_UPLOAD_MAX_MEMORY_SIZE: Django's own answer would be an HTML 400.
        return Response(
            {"code": Code.TOO_LARGE, "detail": gettext("The request body is too large.")},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    code: str | None = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), None)
    if code is None:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        inner = codes.get("code") if isinstance(codes, dict) else None
        if isinstance(inner, str):
            code = inner  # simplejwt puts its own code inside the detail
    if isinstance(exc.detail, dict) and "detail" in exc.detail and "code" in exc.detail:
        detail = str(exc.detail["detail"])
    else:
        detail = " ".join(_flatten(exc.detail))
    body: dict[str, Any] = {"code": code, "detail": detail}
    if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
        body["fields"] = exc.detail
    # ``Throttled.wait`` is set in its __init__ but missing from the stubs.
    wait: float | None = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        body["retry_after"] = int(wait + 0.999)
    response.data = body
    return response
