"""Per-user limits on creating things over HTTP (rooms, listings): DRF throttles, counted
in Django's cache (Redis in production, so across processes)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView


class CreateThrottle(UserRateThrottle):
    """Counts POSTs only: reading the list the view also serves is not creating."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)


class RoomCreateThrottle(CreateThrottle):
    scope = "room_create"

    def get_rate(self) -> str:
        return settings.CHAT["ROOM_CREATE_RATE"]


class ListingCreateThrottle(CreateThrottle):
    scope = "listing_create"

    def get_rate(self) -> str:
        return settings.CHAT["LISTING_CREATE_RATE"]
