from django.urls import path

from rooms import api

urlpatterns = [
    path("listings/", api.ListingListApi.as_view(), name="listing-list"),
    path("listings/<int:listing_id>/", api.ListingDetailApi.as_view(), name="listing-detail"),
    path("listings/<int:listing_id>/photo/", api.ListingPhotoApi.as_view(), name="listing-photo"),
]
