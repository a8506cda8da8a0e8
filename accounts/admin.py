from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from accounts.services import user_ban, user_unban


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("display_name", "username", "is_guest", "is_active", "is_staff", "date_joined")
    list_filter = ("is_guest", "is_active", "is_staff")
    search_fields = ("nickname", "tag", "username")
    ordering = ("-date_joined",)
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Chat identity", {"fields": ("nickname", "tag", "is_guest")}),
    )
    actions = ("ban", "unban")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[User], search_term: str
    ) -> tuple[QuerySet[User], bool]:
        # "QuietOtter#4821" finds exactly that identity.
        nickname, sep, tag = search_term.partition("#")
        if sep and tag.isdigit():
            return queryset.filter(nickname__iexact=nickname, tag=tag), False
        return super().get_search_results(request, queryset, search_term)

    @admin.action(description="Ban: deactivate, revoke tokens, close open connections")
    def ban(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            user_ban(user=user)
        self.message_user(request, f"Banned {queryset.count()} user(s).", messages.SUCCESS)

    @admin.action(description="Lift ban")
    def unban(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            user_unban(user=user)
        self.message_user(request, f"Lifted the ban of {queryset.count()} user(s).")
