"""Server-rendered shells of the browser client; everything else comes from the API.

The limits the client must respect are rendered into ``<body data-…>`` from ``settings.CHAT``
and the models' field lengths (``static/js/config.js`` reads them), so the browser never
carries a copy that can drift.
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from messaging.models import ChatMessage
from rooms.models import ChatRoom, Listing


def client_limits() -> dict[str, object]:
    """What the browser client needs to know of ``settings.CHAT`` (data-* attribute names)."""
    chat = settings.CHAT
    return {
        "body-max": chat["BODY_MAX"],
        "room-name-max": ChatRoom._meta.get_field("name").max_length,
        "history-page": chat["HISTORY_DEFAULT"],
        "typing-interval": chat["TYPING_INTERVAL"],
        "heartbeat-interval": chat["HEARTBEAT_INTERVAL"],
    }


class Page(TemplateView):
    page = ""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        limits = client_limits()
        return {
            **super().get_context_data(**kwargs),
            "page": self.page,
            "limits": limits,
            "room_name_max": limits["room-name-max"],
            "listing_title_max": Listing._meta.get_field("title").max_length,
            "listing_description_max": Listing._meta.get_field("description").max_length,
        }

    def not_found(self, *, heading: str, text: str, back: str, back_label: str) -> HttpResponse:
        """A real not-found page (HTTP 404): what is missing, and a way back. Only a room's or
        a listing's existence is checked here; whether this person may see it is the API's
        answer (the page script shows that one)."""
        context = {
            **Page.get_context_data(self, **self.kwargs),
            "page": "notfound",
            "heading": heading,
            "text": text,
            "back": back,
            "back_label": back_label,
        }
        return render(self.request, "chat/not_found.html", context, status=404)


class RoomPage(Page):
    """A room, opened at its latest messages, or at ``?message=<id>`` (v1.1: a search result,
    a link in a push or an e-mail). History pages by seq, so the message's seq is rendered in
    (only a number, and only for a message of this room; its text comes from the API, which
    checks access)."""

    page = "room"
    template_name = "chat/room.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not ChatRoom.objects.filter(pk=kwargs["room_id"]).exists():
            return self.not_found(
                heading=_("Room not found"),
                text=_("This room does not exist, or it was removed."),
                back="/",
                back_label=_("Back to the lobby"),
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        raw = self.request.GET.get("message", "")
        seq = None
        if raw.isdigit() and len(raw) < 19:
            seq = (
                ChatMessage.objects.filter(pk=int(raw), room_id=self.kwargs["room_id"])
                .values_list("seq", flat=True)
                .first()
            )
        context["open_at"] = {"id": int(raw), "seq": seq} if seq is not None else None
        return context


class ListingPage(Page):
    page = "listing"
    template_name = "chat/listing.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not Listing.objects.filter(pk=kwargs["listing_id"]).exists():
            return self.not_found(
                heading=_("Listing not found"),
                text=_("This listing does not exist, or its owner removed it."),
                back="/listings/",
                back_label=_("Back to the listings"),
            )
        return super().get(request, *args, **kwargs)


def service_worker(request: HttpRequest) -> HttpResponse:
    """``static/sw.js`` at the site's root, so its scope is every page (a worker served from
    /static/ could only control /static/)."""
    response = HttpResponse(
        (settings.BASE_DIR / "static" / "sw.js").read_bytes(),
        content_type="text/javascript; charset=utf-8",
    )
    response["Cache-Control"] = "no-cache"
    return response


urls_pages = [
    ("sw.js", service_worker, "service-worker"),
    ("settings/", Page.as_view(template_name="chat/settings.html", page="settings"), "settings"),
    ("", Page.as_view(template_name="chat/lobby.html", page="lobby"), "lobby"),
    ("rooms/<int:room_id>/", RoomPage.as_view(), "room"),
    ("listings/", Page.as_view(template_name="chat/listings.html", page="listings"), "listings"),
    ("listings/<int:listing_id>/", ListingPage.as_view(), "listing"),
    ("inbox/", Page.as_view(template_name="chat/inbox.html", page="inbox"), "inbox"),
]
