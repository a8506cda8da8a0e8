from django.urls import path

from notifications import api, views

urlpatterns = [
    path("me/settings/", api.SettingsApi.as_view(), name="me-settings"),
    path("push/key/", api.PushKeyApi.as_view(), name="push-key"),
    path("push/subscriptions/", api.PushSubscriptionsApi.as_view(), name="push-subscriptions"),
    path("rooms/<int:room_id>/mute/", api.RoomMuteApi.as_view(), name="room-mute"),
]

page_urlpatterns = [
    path("email/verify/<str:token>/", views.email_verify, name="email-verify"),
    path("email/unsubscribe/<str:token>/", views.email_unsubscribe, name="email-unsubscribe"),
]
