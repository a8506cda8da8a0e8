"""HTTP interface: notification settings, Web Push subscriptions, room mute."""

from typing import Any

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import AuthenticatedRequest
from chatsite.foundation.errors import BadRequest
from chatsite.foundation.serializers import ErrorSerializer
from notifications import push, services
from notifications.serializers import (
    PushKeySerializer,
    PushSubscriptionInputSerializer,
    PushUnsubscribeInputSerializer,
    SettingsInputSerializer,
    SettingsSerializer,
    settings_data,
)
from rooms.selectors import room_get_for_user
from rooms.services import membership_set_muted

SETTINGS_FIELDS = ("email", "notify_email", "notify_push", "language")


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadRequest(gettext("The body must be a JSON object."))
    return data


class SettingsApi(APIView):
    @extend_schema(responses={200: SettingsSerializer})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(settings_data(services.settings_get(user=request.user)))

    @extend_schema(
        request=SettingsInputSerializer, responses={200: SettingsSerializer, 400: ErrorSerializer}
    )
    def patch(self, request: AuthenticatedRequest) -> Response:
        data = _object(request.data)
        unknown = set(data) - set(SETTINGS_FIELDS) - {"email_verified"}
        if unknown:
            raise BadRequest(
                gettext("Unknown field(s): %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
            )
        changes = {field: data[field] for field in SETTINGS_FIELDS if field in data}
        prefs = services.settings_update(user=request.user, **changes)
        return Response(settings_data(prefs))


class PushKeyApi(APIView):
    @extend_schema(responses={200: PushKeySerializer})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response({"public_key": push.vapid_public_key()})


class PushSubscriptionsApi(APIView):
    @extend_schema(
        request=PushSubscriptionInputSerializer,
        responses={201: OpenApiResponse(description="Subscribed."), 400: ErrorSerializer},
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = _object(request.data)
        services.push_subscribe(
            user=request.user, endpoint=data.get("endpoint"), keys=data.get("keys")
        )
        return Response(status=status.HTTP_201_CREATED)

    @extend_schema(
        request=PushUnsubscribeInputSerializer,
        responses={204: OpenApiResponse(description="Unsubscribed."), 400: ErrorSerializer},
    )
    def delete(self, request: AuthenticatedRequest) -> Response:
        data = _object(request.data)
        services.push_unsubscribe(user=request.user, endpoint=data.get("endpoint"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoomMuteApi(APIView):
    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="Muted."), 404: ErrorSerializer},
    )
    def put(self, request: AuthenticatedRequest, room_id: int) -> Response:
        room = room_get_for_user(room_id=room_id, user=request.user)
        membership_set_muted(room=room, user=request.user, muted=True)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="Unmuted."), 404: ErrorSerializer},
    )
    def delete(self, request: AuthenticatedRequest, room_id: int) -> Response:
        room = room_get_for_user(room_id=room_id, user=request.user)
        membership_set_muted(room=room, user=request.user, muted=False)
        return Response(status=status.HTTP_204_NO_CONTENT)
