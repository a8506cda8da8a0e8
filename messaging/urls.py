from django.urls import path

from messaging import api

urlpatterns = [
    path("rooms/", api.RoomListApi.as_view(), name="room-list"),
    path("rooms/<int:room_id>/", api.RoomDetailApi.as_view(), name="room-detail"),
    path("rooms/<int:room_id>/messages/", api.RoomMessagesApi.as_view(), name="room-messages"),
    path("search/", api.SearchApi.as_view(), name="search"),
    path("rooms/<int:room_id>/read/", api.RoomReadApi.as_view(), name="room-read"),
    path(
        "rooms/<int:room_id>/attachments/",
        api.RoomAttachmentsApi.as_view(),
        name="room-attachments",
    ),
    path("listings/<int:listing_id>/chat/", api.ListingChatApi.as_view(), name="listing-chat"),
]
