"""HTTP interface for rooms and history (rooms on the wire carry messaging's knowledge)."""

from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatsite.schema import ERROR, HISTORY, NO_CONTENT, ROOM, extend_schema, page_of
from messaging.selectors import messages_before, room_data_for, rooms_data, rooms_with_summary
from messaging.serializers import message_data
from messaging.services import direct_room_open, room_mark_read
from rooms.selectors import listing_get, room_get_for_user
from rooms.services import public_room_create


class RoomPagination(CursorPagination):
    ordering = ("-last_activity_at", "-id")
    page_size = 50


class RoomListApi(APIView):
    class RoomCreateSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, trim_whitespace=True)

    @extend_schema(operation_id="rooms_list", responses={200: page_of("RoomPage", ROOM)})
    def get(self, request: Request) -> Response:
        paginator = RoomPagination()
        page = paginator.paginate_queryset(
            rooms_with_summary(user=request.user), request, view=self
        )
        return paginator.get_paginated_response(
            rooms_data(rooms=list(page or []), user=request.user)
        )

    @extend_schema(request=RoomCreateSerializer, responses={201: ROOM, 400: ERROR, 409: ERROR})
    def post(self, request: Request) -> Response:
        data = self.RoomCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        room = public_room_create(name=data.validated_data["name"], created_by=request.user)
        return Response(
            room_data_for(room_id=room.id, user=request.user), status=status.HTTP_201_CREATED
        )


class RoomDetailApi(APIView):
    @extend_schema(responses={200: ROOM, 404: ERROR})
    def get(self, request: Request, room_id: int) -> Response:
        room_get_for_user(room_id=room_id, user=request.user)
        return Response(room_data_for(room_id=room_id, user=request.user))


class RoomMessagesApi(APIView):
    class HistoryQuerySerializer(serializers.Serializer):
        before = serializers.IntegerField(min_value=1, required=False)
        limit = serializers.IntegerField(min_value=1, max_value=100, default=50)

    @extend_schema(
        parameters=[HistoryQuerySerializer], responses={200: HISTORY, 400: ERROR, 404: ERROR}
    )
    def get(self, request: Request, room_id: int) -> Response:
        room = room_get_for_user(room_id=room_id, user=request.user)
        query = self.HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        messages, has_more = messages_before(
            room=room,
            before=query.validated_data.get("before"),
            limit=query.validated_data["limit"],
        )
        return Response({"results": [message_data(m) for m in messages], "has_more": has_more})


class RoomReadApi(APIView):
    class ReadSerializer(serializers.Serializer):
        seq = serializers.IntegerField(min_value=0)

    @extend_schema(request=ReadSerializer, responses={204: NO_CONTENT, 404: ERROR})
    def post(self, request: Request, room_id: int) -> Response:
        room = room_get_for_user(room_id=room_id, user=request.user)
        data = self.ReadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        room_mark_read(room=room, user=request.user, seq=data.validated_data["seq"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class ListingChatApi(APIView):
    @extend_schema(request=None, responses={200: ROOM, 201: ROOM, 400: ERROR, 404: ERROR})
    def post(self, request: Request, listing_id: int) -> Response:
        listing = listing_get(listing_id=listing_id)
        room, created = direct_room_open(listing=listing, user=request.user)
        return Response(
            room_data_for(room_id=room.id, user=request.user),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
