import pytest
from rest_framework import serializers

from chatsite.foundation.wire import encode
from rooms.models import Listing
from rooms.serializers import ListingSerializer, listing_data
from tests.factories import ListingFactory

pytestmark = pytest.mark.django_db


def test_post_and_read_a_listing(guest_client):
    owner = guest_client()
    response = owner.post(
        "/api/listings/", {"title": " Camping tent ", "description": "Sleeps two."}, format="json"
    )
    assert response.status_code == 201
    listing = response.json()
    assert listing["title"] == "Camping tent"
    assert listing["owner"]["id"] == owner.user.id
    assert listing["created_at"].endswith("Z") and len(listing["created_at"]) == 24
    assert guest_client().get(f"/api/listings/{listing['id']}/").json() == listing


def test_listing_needs_a_title(guest_client):
    response = guest_client().post("/api/listings/", {"description": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert "title" in response.json()["fields"]
    assert not Listing.objects.exists()


def test_listings_are_cursor_paginated_newest_first(guest_client, settings):
    settings.CHAT = {**settings.CHAT, "LISTING_CREATE_RATE": "1000/hour"}
    owner = guest_client()
    ids = [
        owner.post("/api/listings/", {"title": f"item {n}"}, format="json").json()["id"]
        for n in range(35)
    ]
    first = owner.get("/api/listings/").json()
    assert [item["id"] for item in first["results"]] == ids[::-1][:30]
    second = owner.get(first["next"]).json()
    assert [item["id"] for item in second["results"]] == ids[::-1][30:]
    assert second["next"] is None


def test_only_the_owner_changes_or_removes_a_listing(guest_client):
    owner, other = guest_client(), guest_client()
    listing_id = owner.post("/api/listings/", {"title": "Drill"}, format="json").json()["id"]
    assert (
        other.patch(f"/api/listings/{listing_id}/", {"title": "Mine"}, format="json").status_code
        == 403
    )
    assert other.delete(f"/api/listings/{listing_id}/").json()["code"] == "forbidden"
    changed = owner.patch(
        f"/api/listings/{listing_id}/", {"title": "Cordless drill"}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["title"] == "Cordless drill"
    assert owner.delete(f"/api/listings/{listing_id}/").status_code == 204
    assert owner.get(f"/api/listings/{listing_id}/").json()["code"] == "not_found"


def test_missing_listing_is_404_with_code(guest_client):
    response = guest_client().get("/api/listings/999999/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "No such listing."}


def test_listing_fast_path_equals_drf_field_by_field():
    serializer = ListingSerializer()
    for listing in [ListingFactory(), ListingFactory(description="")]:
        generic = serializers.Serializer.to_representation(serializer, listing)
        assert encode(listing_data(listing)) == encode(generic)
