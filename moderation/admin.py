"""Staff's moderation desk in the Django admin: the report queue, content rules, mutes,
blocks, address bans; and the ban and slow-mode actions on users and rooms.

Every action goes through ``moderation.actions`` (or ``services``): it is recorded (who,
when) and takes effect live, exactly as from the API.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.admin import UserAdmin as AccountsUserAdmin
from accounts.models import User
from chatsite.foundation.errors import ChatError
from messaging.models import ChatMessage
from moderation import actions
from moderation.models import AddressBan, AutoHide, Block, ContentRule, Report, RoomMute
from moderation.services import content_rule_delete, content_rule_save, user_ban_holding
from rooms.admin import ChatRoomAdmin as RoomsChatRoomAdmin
from rooms.models import ChatRoom

CONTEXT = 5  # messages shown before and after a reported one


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # the admin site lets staff users in only
    return request.user


def _report_action(action: str, description: str) -> Callable[..., None]:
    def run(
        modeladmin: admin.ModelAdmin[Report], request: HttpRequest, queryset: QuerySet[Report]
    ) -> None:
        done, failed = 0, []
        for report in queryset.select_related("target"):
            try:
                actions.report_act(report=report, action=action, by=_staff(request))
                done += 1
            except ChatError as exc:
                failed.append(f"report {report.pk}: {exc.detail}")
        if done:
            modeladmin.message_user(request, f"{description}: {done} report(s).", messages.SUCCESS)
        for line in failed:
            modeladmin.message_user(request, line, messages.ERROR)

    run.__name__ = action
    return admin.action(description=description)(run)


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "reason",
        "target",
        "room",
        "short_message",
        "reporters",
        "status",
        "action",
        "resolved_by",
        "resolved_at",
    )
    list_filter = ("status", "reason", "room")
    list_select_related = ("target", "room", "message", "resolved_by")
    search_fields = ("target__nickname", "note", "message__body")
    raw_id_fields = ("reporter", "message", "target", "room", "resolved_by")
    readonly_fields = (
        "reporter",
        "message",
        "target",
        "room",
        "reason",
        "note",
        "created_at",
        "status",
        "action",
        "resolved_by",
        "resolved_at",
        "reporters",
        "context",
    )
    actions = (
        _report_action("remove", "Remove the message"),
        _report_action("mute_10m", "Mute the author in the room for 10 minutes"),
        _report_action("mute_1h", "Mute the author in the room for 1 hour"),
        _report_action("mute_1d", "Mute the author in the room for 1 day"),
        _report_action("kick", "Kick the author from the room"),
        _report_action("ban", "Ban the author"),
        _report_action("dismiss", "Dismiss (restores a message the community hid)"),
        _report_action("restore", "Restore the message the community hid"),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        distinct = (
            Report.objects.filter(message_id=OuterRef("message_id"), status=Report.OPEN)
            .order_by()
            .values("message_id")
            .annotate(n=Count("reporter_id", distinct=True))
            .values("n")
        )
        return (
            super().get_queryset(request).annotate(reporter_count=Coalesce(Subquery(distinct), 1))
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="reporters")
    def reporters(self, report: Report) -> int:
        return int(getattr(report, "reporter_count", 1))

    @admin.display(description="message")
    def short_message(self, report: Report) -> str:
        if report.message is None:
            return "(a user)"
        body = report.message.body
        return body if len(body) <= 60 else body[:59] + "…"

    @admin.display(description="context (five before and after)")
    def context(self, report: Report) -> SafeString:
        message = report.message
        if message is None:
            return format_html("{}", "A report of a user, not of a message.")
        around = ChatMessage.objects.filter(room_id=message.room_id).select_related("author")
        before = list(around.filter(seq__lt=message.seq).order_by("-seq")[:CONTEXT])[::-1]
        after = list(around.filter(seq__gt=message.seq).order_by("seq")[:CONTEXT])
        hidden = AutoHide.objects.filter(message=message, restored=False).exists()

        def row(m: ChatMessage) -> tuple[str, str, str, str]:
            state = (
                " (hidden by reports)"
                if m.pk == message.pk and hidden
                else (" (deleted)" if m.deleted_at else "")
            )
            style = "font-weight:bold;background:#fff3cd" if m.pk == message.pk else ""
            return (style, str(m.author), m.body or "(no text)", state)

        rows = format_html_join(
            "",
            '<tr style="{}"><td>{}</td><td style="white-space:pre-wrap">{}</td><td>{}</td></tr>',
            (row(m) for m in [*before, message, *after]),
        )
        return format_html("<table>{}</table>", rows)


@admin.register(ContentRule)
class ContentRuleAdmin(admin.ModelAdmin):
    list_display = ("pattern", "kind", "action", "scope", "is_active", "created_at")
    list_filter = ("kind", "action", "scope", "is_active")
    search_fields = ("pattern",)

    def save_model(
        self, request: HttpRequest, obj: ContentRule, form: object, change: bool
    ) -> None:
        content_rule_save(rule=obj)

    def delete_model(self, request: HttpRequest, obj: ContentRule) -> None:
        content_rule_delete(rule=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ContentRule]) -> None:
        for rule in queryset:
            content_rule_delete(rule=rule)


@admin.register(AutoHide)
class AutoHideAdmin(admin.ModelAdmin):
    """Messages the community hid, pending review (act on them from their reports)."""

    list_display = ("message", "hidden_at", "restored", "reviewed_by", "reviewed_at")
    list_filter = ("restored", ("reviewed_at", admin.EmptyFieldListFilter))
    raw_id_fields = ("message", "reviewed_by")
    readonly_fields = ("message", "hidden_at", "restored", "reviewed_by", "reviewed_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(RoomMute)
class RoomMuteAdmin(admin.ModelAdmin):
    list_display = ("user", "room", "until", "by", "created_at", "reason")
    list_filter = ("reason",)
    raw_id_fields = ("room", "user", "by")
    readonly_fields = ("by", "created_at")
    search_fields = ("user__nickname",)

    def save_model(self, request: HttpRequest, obj: RoomMute, form: object, change: bool) -> None:
        if obj.by_id is None:
            obj.by = _staff(request)
        super().save_model(request, obj, form, change)


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("blocker", "blocked", "created_at")
    raw_id_fields = ("blocker", "blocked")
    search_fields = ("blocker__nickname", "blocked__nickname")


@admin.register(AddressBan)
class AddressBanAdmin(admin.ModelAdmin):
    list_display = ("address", "until", "user", "by", "created_at")
    raw_id_fields = ("user", "by")
    search_fields = ("address",)


# --- bans that hold, rooms with slow mode ---------------------------------------------------

admin.site.unregister(User)


@admin.register(User)
class UserAdmin(AccountsUserAdmin):
    @admin.action(
        description="Ban: deactivate, revoke tokens, close connections (and the "
        "guest's address mints no guests for a while)"
    )
    def ban(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            user_ban_holding(user=user, by=_staff(request))
        self.message_user(request, f"Banned {queryset.count()} user(s).", messages.SUCCESS)


admin.site.unregister(ChatRoom)


def _slow_mode(seconds: int, description: str) -> Callable[..., None]:
    def run(
        modeladmin: admin.ModelAdmin[ChatRoom], request: HttpRequest, queryset: QuerySet[ChatRoom]
    ) -> None:
        for room in queryset:
            actions.room_slow_mode_set(room_id=room.pk, seconds=seconds, by=None)
        modeladmin.message_user(request, f"{description}: {queryset.count()} room(s).")

    run.__name__ = f"slow_mode_{seconds}"
    return admin.action(description=description)(run)


@admin.register(ChatRoom)
class ChatRoomAdmin(RoomsChatRoomAdmin):
    # The base class's tuples are inferred at their exact lengths; these extend them.
    list_display = (*RoomsChatRoomAdmin.list_display, "slow_mode")  # type: ignore[assignment]
    readonly_fields = (  # type: ignore[assignment]
        *RoomsChatRoomAdmin.readonly_fields,
        "slow_mode",
        "is_closed",
    )
    actions = (  # type: ignore[assignment]
        "close_rooms",
        "reopen_rooms",
        _slow_mode(0, "Slow mode off"),
        _slow_mode(10, "Slow mode: 10 s"),
        _slow_mode(30, "Slow mode: 30 s"),
        _slow_mode(60, "Slow mode: 1 min"),
        _slow_mode(300, "Slow mode: 5 min"),
    )

    @admin.action(description="Close: no new messages or edits")
    def close_rooms(self, request: HttpRequest, queryset: QuerySet[ChatRoom]) -> None:
        for room in queryset:
            actions.room_closed_set(room=room, closed=True)

    @admin.action(description="Reopen")
    def reopen_rooms(self, request: HttpRequest, queryset: QuerySet[ChatRoom]) -> None:
        for room in queryset:
            actions.room_closed_set(room=room, closed=False)
