"""HTTP interface for rooms and history (rooms on the wire carry messaging's knowledge)."""

from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import AuthenticatedRequest
from chatsite.foundation.pagination import CheckedCursorPagination
from chatsite.foundation.serializers import ErrorSerializer
from chatsite.foundation.throttles import RoomCreateThrottle
from images.serializers import AttachmentSerializer, attachment_data
from messaging.attachments import attachment_upload
from messaging.limits import read_rate_check
from messaging.search import QUERY_MAX, QUERY_MIN, messages_search
from messaging.selectors import (
    messages_after,
    messages_around,
    messages_before,
    room_summaries,
    rooms_with_summary,
)
from messaging.serializers import (
    AroundSerializer,
    HistorySerializer,
    RoomSerializer,
    SearchPageSerializer,
    room_data_for,
)
from messaging.services import direct_room_open, room_mark_read
from rooms.models import ChatRoom
from rooms.selectors import listing_get, room_get_for_user
from rooms.services import public_room_create


class RoomPagination(CheckedCursorPagination):
    ordering = ("-last_activity_at", "-id")
    page_size = 50


class RoomListApi(APIView):
    pagination_class = RoomPagination  # read by the schema generator too
    throttle_classes = (RoomCreateThrottle,)

    class RoomListQuerySerializer(serializers.Serializer[Any]):
        kind = serializers.ChoiceField(
            choices=ChatRoom.KINDS, required=False, help_text="Only rooms of this kind."
        )

    class RoomCreateSerializer(serializers.Serializer[Any]):
        name = serializers.CharField(max_length=200, trim_whitespace=True)

    @extend_schema(
        operation_id="rooms_list",
        parameters=[RoomListQuerySerializer],
        responses={200: RoomSerializer(many=True), 400: ErrorSerializer},
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        query = self.RoomListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rooms = rooms_with_summary(user=request.user, kind=query.validated_data.get("kind"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rooms, request, view=self) or []
        summaries = room_summaries(rooms=page, user=request.user)
        return paginator.get_paginated_response(
            serializers.ListSerializer(summaries, child=RoomSerializer()).data
        )

    @extend_schema(
        request=RoomCreateSerializer,
        responses={
            201: RoomSerializer,
            400: ErrorSerializer,
            409: ErrorSerializer,
            429: ErrorSerializer,
        },
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.RoomCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        room = public_room_create(name=data.validated_data["name"], created_by=request.user)
        return Response(
            room_data_for(room_id=room.id, user=request.user), status=status.HTTP_201_CREATED
        )


class RoomDetailApi(APIView):
    @extend_schema(responses={200: RoomSerializer, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, room_id: int) -> Response:
        # Visibility is the summary's own filter: another's direct room is "not found".
        return Response(room_data_for(room_id=room_id, user=request.user))


class RoomMessagesApi(APIView):
    class HistoryQuerySerializer(serializers.Serializer[Any]):
        before = serializers.IntegerField(min_value=1, required=False)
        after = serializers.IntegerField(min_value=0, required=False, help_text="(v1.1)")
        around = serializers.IntegerField(min_value=1, required=False, help_text="(v1.1)")
        limit = serializers.IntegerField(min_value=1)  # bounds and default: get_fields

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if len({"before", "after", "around"} & attrs.keys()) > 1:
                raise serializers.ValidationError(gettext("Give one of before, after, around."))
            return attrs

        def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
            # From settings at use, not at import, so the configured values always apply.
            fields = super().get_fields()
            fields["limit"] = serializers.IntegerField(
                min_value=1,
                max_value=settings.CHAT["HISTORY_MAX"],
                default=settings.CHAT["HISTORY_DEFAULT"],
            )
            return fields

    @extend_schema(
        parameters=[HistoryQuerySerializer],
        responses={
            200: PolymorphicProxySerializer(
                component_name="HistoryOrAround",
                serializers=[HistorySerializer, AroundSerializer],
                resource_type_field_name=None,
            ),
            400: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def get(self, request: AuthenticatedRequest, room_id: int) -> Response:
        room = room_get_for_user(room_id=room_id, user=request.user)
        query = self.HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data, limit = query.validated_data, query.validated_data["limit"]
        if "around" in data:  # (v1.1)
            around = messages_around(room=room, around=data["around"], limit=limit)
            return Response(AroundSerializer(around).data)
        if "after" in data:  # (v1.1)
            page = messages_after(room=room, after=data["after"], limit=limit)
        else:
            page = messages_before(room=room, before=data.get("before"), limit=limit)
        return Response(HistorySerializer(page).data)


class RoomReadApi(APIView):
    class ReadSerializer(serializers.Serializer[Any]):
        seq = serializers.IntegerField(min_value=0)

    @extend_schema(
        request=ReadSerializer,
        responses={
            204: OpenApiResponse(description="Done."),
            404: ErrorSerializer,
            429: ErrorSerializer,
        },
    )
    def post(self, request: AuthenticatedRequest, room_id: int) -> Response:
        room = room_get_for_user(room_id=room_id, user=request.user)
        data = self.ReadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The socket's ``read`` budget, shared: marking over HTTP is no way around it.
        async_to_sync(read_rate_check)(user_id=request.user.id)
        room_mark_read(room=room, user=request.user, seq=data.validated_data["seq"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class ListingChatApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: RoomSerializer,
            201: RoomSerializer,
            400: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def post(self, request: AuthenticatedRequest, listing_id: int) -> Response:
        listing = listing_get(listing_id=listing_id)
        room, created = direct_room_open(listing=listing, user=request.user)
        return Response(
            room_data_for(room_id=room.id, user=request.user),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class SearchApi(APIView):
    """(v1.1) ``GET /api/search/?q=&room=&before=``."""

    class SearchQuerySerializer(serializers.Serializer[Any]):
        q = serializers.CharField(min_length=QUERY_MIN, max_length=QUERY_MAX)
        room = serializers.IntegerField(min_value=1, required=False, help_text="Only this room.")
        before = serializers.IntegerField(
            min_value=1, required=False, help_text="A message id: the previous page's next_before."
        )

    @extend_schema(
        operation_id="search",
        parameters=[SearchQuerySerializer],
        responses={200: SearchPageSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        query = self.SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = messages_search(
            user=request.user,
            q=query.validated_data["q"],
            room_id=query.validated_data.get("room"),
            before=query.validated_data.get("before"),
        )
        return Response(SearchPageSerializer(page).data)


class RoomAttachmentsApi(APIView):
    """(v1.1) An image into a room, pending until a ``send`` names it."""

    parser_classes = [MultiPartParser]

    class AttachmentUploadSerializer(serializers.Serializer[Any]):
        file = serializers.FileField(help_text="JPEG, PNG, WebP or GIF.")

    @extend_schema(
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={
            201: AttachmentSerializer,
            400: ErrorSerializer,
            404: ErrorSerializer,
            413: ErrorSerializer,
            415: ErrorSerializer,
            429: ErrorSerializer,
            503: ErrorSerializer,
        },
    )
    def post(self, request: AuthenticatedRequest, room_id: int) -> Response:
        room = room_get_for_user(room_id=room_id, user=request.user)
        attachment = attachment_upload(room=room, user=request.user, request=request)
        return Response(attachment_data(attachment.meta()), status=status.HTTP_201_CREATED)
