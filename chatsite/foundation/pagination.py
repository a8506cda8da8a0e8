"""Cursor pagination whose cursor, being the client's to send back, is checked."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext
from rest_framework.exceptions import NotFound as DRFNotFound
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.views import APIView

from chatsite.foundation.errors import BadRequest


class CheckedCursorPagination(CursorPagination):
    """DRF's, with a tampered cursor a 400 ``bad_request``: DRF decodes the cursor's
    position without checking it against the ordering field, and a position that is not a
    date (``p=x``) failed inside the query as a 500; an undecodable one was a 404."""

    def paginate_queryset(
        self, queryset: Any, request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DRFNotFound, DjangoValidationError, ValueError, TypeError, OverflowError) as exc:
            raise BadRequest(
                gettext("That page cursor is not valid; start from the first page.")
            ) from exc
