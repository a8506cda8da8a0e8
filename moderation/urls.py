from django.urls import path

from moderation import api

urlpatterns = [
    path("auth/challenge/", api.ChallengeApi.as_view(), name="auth-challenge"),
    path("auth/guest/", api.GuestCreateApi.as_view(), name="auth-guest"),
    path("reports/", api.ReportCreateApi.as_view(), name="report-create"),
    path("blocks/", api.BlockListApi.as_view(), name="block-list"),
    path("blocks/<int:user_id>/", api.BlockDetailApi.as_view(), name="block-detail"),
    path("rooms/<int:room_id>/mutes/", api.RoomMuteApi.as_view(), name="room-mutes"),
    path(
        "rooms/<int:room_id>/mutes/<int:user_id>/",
        api.RoomMuteDetailApi.as_view(),
        name="room-mute-detail",
    ),
    path("rooms/<int:room_id>/kick/", api.RoomKickApi.as_view(), name="room-kick"),
    path("rooms/<int:room_id>/slow_mode/", api.RoomSlowModeApi.as_view(), name="room-slow-mode"),
]
