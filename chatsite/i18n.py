"""Which language a request or a socket speaks (issue 15; settings.LANGUAGES: en, ko).

Precedence, highest first:

1. a user's settings ``language`` (``PATCH /api/me/settings/``), once the request is
   authenticated — pages carry no token, so the answer to a signed-in API request also sets
   the language cookie to it and the next page is rendered in it;
2. the language cookie, set by the switcher (Django's ``set_language`` view at
   ``/i18n/setlang/``, templates/chat/_language.html);
3. the browser's ``Accept-Language``;
4. ``settings.LANGUAGE_CODE`` (English).

Django's ``LocaleMiddleware`` does 2-4 for HTTP; DRF authenticates inside the view, so the
authentication classes below apply 1. A WebSocket handshake is resolved the same way by
``socket_language`` (chatsite.middleware puts it in the scope; the consumer activates it
for the connection, so ``error`` frames' ``detail`` are in it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication

from notifications.selectors import auser_language, user_language

USER_LANGUAGE_ATTR = "chat_user_language"


def supported(code: str | None) -> str | None:
    """``code`` as one of settings.LANGUAGES ("ko-KR" → "ko"), or None."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def _apply_user_language(request: Request, user: Any) -> None:
    if user is None or not getattr(user, "pk", None):
        return
    language = supported(user_language(user_id=user.pk))
    if language is None:
        return
    translation.activate(language)
    django_request = request._request
    django_request.LANGUAGE_CODE = language
    setattr(django_request, USER_LANGUAGE_ATTR, language)


class _AppliesUserLanguage(BaseAuthentication):
    """Placed before a DRF authentication class: once it has found the user, their settings
    language becomes the request's."""

    def authenticate(self, request: Request) -> Any:
        result = super().authenticate(request)
        if result is not None:
            _apply_user_language(request, result[0])
        return result


class LanguageJWTAuthentication(_AppliesUserLanguage, JWTAuthentication):
    """simplejwt's bearer authentication; the user's settings language becomes the request's."""


class LanguageSessionAuthentication(_AppliesUserLanguage, SessionAuthentication):
    """DRF's session authentication (the admin's staff in the browsable API), likewise."""


class LanguageJWTScheme(SimpleJWTScheme):
    """The OpenAPI schema describes it as simplejwt's bearer scheme."""

    target_class = "chatsite.i18n.LanguageJWTAuthentication"


class LanguageSessionScheme(SessionScheme):
    target_class = "chatsite.i18n.LanguageSessionAuthentication"


class UserLanguageCookieMiddleware:
    """After a signed-in request whose user chose a language, the language cookie says it
    too, so the next page (which carries no token) is rendered in it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        language = getattr(request, USER_LANGUAGE_ATTR, None)
        name = settings.LANGUAGE_COOKIE_NAME
        if language and request.COOKIES.get(name) != language:
            response.set_cookie(
                name,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]  # a str setting
            )
        return response


class LanguageCatalog(JavaScriptCatalog):
    """Django's JavaScript catalog for the language its URL names (``/jsi18n/?l=ko``, as
    base.html writes it), else the request's: one URL, one content, safe to cache."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = supported(request.GET.get("l"))
        if language is None:
            return super().get(request, *args, **kwargs)
        with translation.override(language):
            return super().get(request, *args, **kwargs)


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


def _cookie(scope: dict[str, Any], name: str) -> str | None:
    from django.http import parse_cookie

    return parse_cookie(_header(scope, b"cookie")).get(name)


def handshake_language(scope: dict[str, Any]) -> str:
    """The language of a WebSocket handshake without its user: cookie, Accept-Language."""
    language = supported(_cookie(scope, settings.LANGUAGE_COOKIE_NAME))
    if language:
        return language
    for code, _ in parse_accept_lang_header(_header(scope, b"accept-language")):
        if code == "*":
            break
        language = supported(code)
        if language:
            return language
    return settings.LANGUAGE_CODE


async def socket_language(scope: dict[str, Any]) -> str:
    """A socket's language: its user's settings language, else ``handshake_language``."""
    user = scope.get("user")
    if user is not None and getattr(user, "pk", None):
        chosen = supported(await auser_language(user_id=user.pk))
        if chosen:
            return chosen
    return handshake_language(scope)
