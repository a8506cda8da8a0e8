"""HTTP interface for identities: parse, call one service, serialize."""

from django.conf import settings
from django.contrib.auth import authenticate
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.views import TokenRefreshView

from accounts.models import User
from accounts.serializers import user_data
from accounts.services import guest_create, tokens_for_user, user_claim
from chatsite.foundation.errors import Forbidden, InvalidCredentials
from chatsite.schema import ERROR, SESSION, USER, extend_schema


class GuestMintThrottle(SimpleRateThrottle):
    """Guest minting per client address; the rate is read at call time (CHAT_GUEST_RATE)."""

    scope = "guest"

    def get_rate(self) -> str:
        return settings.CHAT["GUEST_RATE"]

    def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class GuestCreateApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [GuestMintThrottle]

    @extend_schema(request=None, responses={201: SESSION, 429: ERROR})
    def post(self, request: Request) -> Response:
        user = guest_create()
        return Response(
            {**tokens_for_user(user=user), "user": user_data(user)}, status=status.HTTP_201_CREATED
        )


class _RefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs):  # type: ignore[no-untyped-def]
        try:
            return super().validate(attrs)
        except User.DoesNotExist as exc:
            raise AuthenticationFailed("No active account found for the given token.") from exc


class TokenRefreshApi(TokenRefreshView):
    serializer_class = _RefreshSerializer


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class ClaimApi(APIView):
    @extend_schema(request=CredentialsSerializer, responses={200: USER, 400: ERROR, 409: ERROR})
    def post(self, request: Request) -> Response:
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not isinstance(request.user, User):
            raise Forbidden()
        user = user_claim(user=request.user, **data.validated_data)
        return Response(user_data(user))


class LoginApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=CredentialsSerializer, responses={200: SESSION, 401: ERROR})
    def post(self, request: Request) -> Response:
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, **data.validated_data)
        if user is None:
            raise InvalidCredentials()
        return Response({**tokens_for_user(user=user), "user": user_data(user)})


class MeApi(APIView):
    @extend_schema(responses={200: USER})
    def get(self, request: Request) -> Response:
        # Beyond the user object (additive): the client shows staff a delete on every message.
        return Response({**user_data(request.user), "is_staff": request.user.is_staff})
