"""HTTP interface for identities: parse, call one service, serialize."""

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.tokens import UntypedToken
from rest_framework_simplejwt.views import TokenRefreshView

from accounts.limits import client_address, login_check, login_failed, login_keys
from accounts.models import User
from accounts.serializers import (
    MeSerializer,
    SessionSerializer,
    TokensSerializer,
    UserSerializer,
    session_data,
    user_data,
)
from accounts.services import guest_create, tokens_for_user, user_claim
from chatsite.foundation.codes import Code
from chatsite.foundation.errors import ChatError, Forbidden, InvalidCredentials
from chatsite.foundation.serializers import ErrorSerializer


class AuthenticatedRequest(Request):
    """A request that passed ``IsAuthenticated``, the API's default permission.

    For type checkers only: DRF hands every view a plain ``Request``. A view that declares
    this type keeps the default permission, so its ``request.user`` is a ``User``.
    """

    user: User


class GuestMintThrottle(SimpleRateThrottle):
    """Guest minting per client address; the rate is read at call time (CHAT_GUEST_RATE)."""

    scope = "guest"

    def get_rate(self) -> str:
        rate = settings.CHAT["GUEST_RATE"]
        if not isinstance(rate, str):
            raise ImproperlyConfigured("CHAT['GUEST_RATE'] must be a rate such as '60/hour'.")
        return rate

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class GuestCreateApi(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (GuestMintThrottle,)

    @extend_schema(request=None, responses={201: SessionSerializer, 429: ErrorSerializer})
    def post(self, request: Request) -> Response:
        user = guest_create()
        return Response(
            session_data(user=user, tokens=tokens_for_user(user=user)),
            status=status.HTTP_201_CREATED,
        )


class _RefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        try:
            return super().validate(attrs)
        except User.DoesNotExist as exc:
            raise AuthenticationFailed(
                gettext("No active account found for the given token.")
            ) from exc
        except (TokenError, InvalidToken, AuthenticationFailed):
            # A ban revoked the token: say so (403 ``banned``), so the client shows it
            # instead of minting itself a new identity. A token that is only stale or
            # forged stays a 401.
            if _banned_user_of(attrs.get("refresh")):
                raise _banned() from None
            raise


def _banned_user_of(raw: object) -> bool:
    """The (validly signed, unexpired) refresh token names a deactivated user."""
    if not isinstance(raw, str):
        return False
    try:
        # UntypedToken checks the signature and expiry, not the blacklist.
        token = UntypedToken(raw)  # type: ignore[arg-type]  # simplejwt annotates a Token
    except TokenError:
        return False
    return User.objects.filter(pk=token.get("user_id"), is_active=False).exists()


def _banned() -> Forbidden:
    error = Forbidden(gettext("This identity is banned."))
    error.code = Code.BANNED
    return error


class TokenRefreshApi(TokenRefreshView):
    serializer_class = _RefreshSerializer

    @extend_schema(responses={200: TokensSerializer, 401: ErrorSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class CredentialsSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class ClaimApi(APIView):
    """A refused claim (name taken, or not acceptable) counts as a failed login of the
    client's address and of the claiming guest: claiming cannot test more names for being
    taken than logging in could test passwords."""

    @extend_schema(
        request=CredentialsSerializer,
        responses={
            200: UserSerializer,
            400: ErrorSerializer,
            409: ErrorSerializer,
            429: ErrorSerializer,
        },
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        keys = login_keys(address=client_address(request), claimer=request.user.id)
        login_check(keys=keys)
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = user_claim(user=request.user, **data.validated_data)
        except ChatError:
            login_failed(keys=keys)
            raise
        return Response(user_data(user))


class LoginApi(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        request=CredentialsSerializer,
        responses={200: SessionSerializer, 401: ErrorSerializer, 429: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # Refused with ``retry_after`` here; the backend counts the failures (and refuses
        # the admin's login the same way).
        login_check(
            keys=login_keys(
                address=client_address(request), username=data.validated_data["username"]
            )
        )
        user = authenticate(request, **data.validated_data)
        if not isinstance(user, User):
            raise InvalidCredentials()
        return Response(session_data(user=user, tokens=tokens_for_user(user=user)))


class MeApi(APIView):
    @extend_schema(responses={200: MeSerializer})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(MeSerializer(request.user).data)
