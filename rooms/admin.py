from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from rooms.models import ChatRoom, Listing, Membership
from rooms.services import room_set_closed


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)
    readonly_fields = ("last_read_seq", "joined_at")


@admin.register(ChatRoom)
class ChatRoomAdmin(admin.ModelAdmin):
    list_display = ("id", "__str__", "kind", "listing", "last_seq", "last_activity_at", "is_closed")
    list_filter = ("kind", "is_closed")
    search_fields = ("name", "listing__title")
    raw_id_fields = ("listing", "borrower", "created_by")
    readonly_fields = ("last_seq", "last_activity_at", "created_at")
    inlines = (MembershipInline,)
    actions = ("close_rooms", "reopen_rooms")

    @admin.action(description="Close: no new messages or edits")
    def close_rooms(self, request: HttpRequest, queryset: QuerySet[ChatRoom]) -> None:
        for room in queryset:
            room_set_closed(room=room, closed=True)

    @admin.action(description="Reopen")
    def reopen_rooms(self, request: HttpRequest, queryset: QuerySet[ChatRoom]) -> None:
        for room in queryset:
            room_set_closed(room=room, closed=False)


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "created_at")
    search_fields = ("title", "description", "owner__nickname")
    raw_id_fields = ("owner", "photo")
