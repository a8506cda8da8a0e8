"""Server-rendered shells of the browser client; everything else comes from the API."""

from django.views.generic import TemplateView


class Page(TemplateView):
    page = ""

    def get_context_data(self, **kwargs):  # type: ignore[no-untyped-def]
        return {**super().get_context_data(**kwargs), "page": self.page}


urls_pages = [
    ("", Page.as_view(template_name="chat/lobby.html", page="lobby"), "lobby"),
    ("rooms/<int:room_id>/", Page.as_view(template_name="chat/room.html", page="room"), "room"),
    ("listings/", Page.as_view(template_name="chat/listings.html", page="listings"), "listings"),
    (
        "listings/<int:listing_id>/",
        Page.as_view(template_name="chat/listing.html", page="listing"),
        "listing",
    ),
    ("inbox/", Page.as_view(template_name="chat/inbox.html", page="inbox"), "inbox"),
]
