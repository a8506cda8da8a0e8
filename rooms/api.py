"""HTTP interface for listings.

Room endpoints live in ``messaging.api``: a room on the wire carries its last message,
unread count and presence, which are messaging's knowledge, and ``rooms`` never imports
``messaging``.
"""

from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatsite.schema import ERROR, LISTING, NO_CONTENT, extend_schema, page_of
from rooms.selectors import listing_get, listings_all
from rooms.serializers import listing_data
from rooms.services import listing_create, listing_delete, listing_update


class ListingPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 30


class ListingInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=5000, allow_blank=True, required=False)


class ListingListApi(APIView):
    @extend_schema(operation_id="listings_list", responses={200: page_of("ListingPage", LISTING)})
    def get(self, request: Request) -> Response:
        paginator = ListingPagination()
        page = paginator.paginate_queryset(listings_all(), request, view=self)
        return paginator.get_paginated_response([listing_data(item) for item in page or []])

    @extend_schema(request=ListingInputSerializer, responses={201: LISTING, 400: ERROR})
    def post(self, request: Request) -> Response:
        data = ListingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        listing = listing_create(owner=request.user, **data.validated_data)
        return Response(listing_data(listing), status=status.HTTP_201_CREATED)


class ListingDetailApi(APIView):
    @extend_schema(responses={200: LISTING, 404: ERROR})
    def get(self, request: Request, listing_id: int) -> Response:
        return Response(listing_data(listing_get(listing_id=listing_id)))

    @extend_schema(request=ListingInputSerializer, responses={200: LISTING, 403: ERROR})
    def patch(self, request: Request, listing_id: int) -> Response:
        listing = listing_get(listing_id=listing_id)
        data = ListingInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        listing = listing_update(listing=listing, by=request.user, **data.validated_data)
        return Response(listing_data(listing))

    @extend_schema(responses={204: NO_CONTENT, 403: ERROR})
    def delete(self, request: Request, listing_id: int) -> Response:
        listing_delete(listing=listing_get(listing_id=listing_id), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
