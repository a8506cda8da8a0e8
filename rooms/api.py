"""HTTP interface for listings.

Room endpoints live in ``messaging.api``: a room on the wire carries its last message,
unread count and presence, which are messaging's knowledge, and ``rooms`` never imports
``messaging``.
"""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import AuthenticatedRequest
from chatsite.foundation.pagination import CheckedCursorPagination
from chatsite.foundation.serializers import ErrorSerializer
from chatsite.foundation.throttles import ListingCreateThrottle
from images.serializers import AttachmentSerializer
from rooms.models import Listing
from rooms.selectors import listing_get, listings_all
from rooms.serializers import ListingSerializer, listing_data
from rooms.services import listing_create, listing_delete, listing_photo_set, listing_update


class ListingPagination(CheckedCursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 30


class ListingInputSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=5000, allow_blank=True, required=False)
    status = serializers.ChoiceField(choices=Listing.STATUSES, required=False, help_text="(v1.1)")


class ListingListApi(APIView):
    pagination_class = ListingPagination  # read by the schema generator too
    throttle_classes = (ListingCreateThrottle,)

    @extend_schema(operation_id="listings_list", responses={200: ListingSerializer(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(listings_all(), request, view=self) or []
        return paginator.get_paginated_response(
            serializers.ListSerializer(page, child=ListingSerializer()).data
        )

    @extend_schema(
        request=ListingInputSerializer,
        responses={201: ListingSerializer, 400: ErrorSerializer, 429: ErrorSerializer},
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = ListingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        listing = listing_create(owner=request.user, **data.validated_data)
        return Response(listing_data(listing), status=status.HTTP_201_CREATED)


class ListingDetailApi(APIView):
    @extend_schema(responses={200: ListingSerializer, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, listing_id: int) -> Response:
        return Response(listing_data(listing_get(listing_id=listing_id)))

    @extend_schema(
        request=ListingInputSerializer,
        responses={200: ListingSerializer, 400: ErrorSerializer, 403: ErrorSerializer},
    )
    def patch(self, request: AuthenticatedRequest, listing_id: int) -> Response:
        listing = listing_get(listing_id=listing_id)
        data = ListingInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        listing = listing_update(listing=listing, by=request.user, **data.validated_data)
        return Response(listing_data(listing))

    @extend_schema(responses={204: OpenApiResponse(description="Removed."), 403: ErrorSerializer})
    def delete(self, request: AuthenticatedRequest, listing_id: int) -> Response:
        listing_delete(listing=listing_get(listing_id=listing_id), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ListingPhotoApi(APIView):
    """(v1.1) The owner sets the listing's photo (same rules as attachments)."""

    parser_classes = [MultiPartParser]

    class PhotoUploadSerializer(serializers.Serializer[Any]):
        file = serializers.FileField(help_text="JPEG, PNG, WebP or GIF.")

    @extend_schema(
        request={"multipart/form-data": PhotoUploadSerializer},
        responses={
            200: ListingSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            413: ErrorSerializer,
            415: ErrorSerializer,
            429: ErrorSerializer,
            503: ErrorSerializer,
        },
        description="The photo object: " + (AttachmentSerializer.__doc__ or ""),
    )
    def post(self, request: AuthenticatedRequest, listing_id: int) -> Response:
        listing = listing_get(listing_id=listing_id)
        listing = listing_photo_set(listing=listing, by=request.user, request=request)
        return Response(listing_data(listing))
