from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from messaging.models import ChatMessage
from messaging.services import message_delete


@admin.register(ChatMessage)
class ChatMessageAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "room",
        "seq",
        "author",
        "short_body",
        "created_at",
        "edited_at",
        "deleted_at",
    )
    list_filter = ("room", ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("body", "author__nickname", "author__username")
    # (v1.1) reply_to as an id: a select of every message would not render on a big table
    raw_id_fields = ("room", "author", "reply_to")
    readonly_fields = (
        "seq", "rev", "client_id", "created_at", "edited_at", "deleted_at",
        "mentions", "reactions", "media",
    )  # fmt: skip
    list_select_related = ("room", "author")
    actions = ("remove",)

    @admin.display(description="body")
    def short_body(self, obj: ChatMessage) -> str:
        return obj.body if len(obj.body) <= 80 else obj.body[:79] + "…"

    @admin.action(description="Remove: delete for everyone, live")
    def remove(self, request: HttpRequest, queryset: QuerySet[ChatMessage]) -> None:
        assert isinstance(request.user, User)  # the admin site lets staff users in only
        for message in queryset:
            message_delete(message_id=message.id, by=request.user)
        self.message_user(request, f"Removed {queryset.count()} message(s).", messages.SUCCESS)

    def has_delete_permission(self, request: HttpRequest, obj: ChatMessage | None = None) -> bool:
        # Removal goes through the delete service (new rev, live broadcast), never a raw DELETE
        # that would leave clients showing a message that no longer exists.
        return False
