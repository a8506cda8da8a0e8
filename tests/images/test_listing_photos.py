"""Listings (v1.1): a status and a photo, both the owner's; the direct room carries them."""

import pytest
from rest_framework import serializers

from chatsite.foundation.wire import encode
from rooms.models import Listing, ListingPhoto
from rooms.serializers import ListingSerializer, listing_data
from tests.images import samples
from tests.images.conftest import stored_files

pytestmark = pytest.mark.django_db


def new_listing(client) -> dict:
    return client.post("/api/listings/", {"title": "Tent"}, format="json").json()


def photo(client, listing_id, data=None):
    return client.post(
        f"/api/listings/{listing_id}/photo/",
        {"file": samples.upload(samples.jpeg(80, 60) if data is None else data)},
        format="multipart",
    )


def test_a_listing_is_available_until_its_owner_says_lent(guest_client):
    owner, other = guest_client(), guest_client()
    listing = new_listing(owner)
    assert listing["status"] == "available" and listing["photo"] is None
    url = f"/api/listings/{listing['id']}/"
    refused = other.patch(url, {"status": "lent"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    bad = owner.patch(url, {"status": "gone"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "bad_request"
    assert owner.patch(url, {"status": "lent"}, format="json").json()["status"] == "lent"
    assert Listing.objects.get().status == "lent"


def test_the_owner_sets_and_replaces_the_photo_old_files_deleted(
    guest_client, media_root, django_capture_on_commit_callbacks
):
    owner = guest_client()
    listing = new_listing(owner)
    first = photo(owner, listing["id"])
    assert first.status_code == 200, first.content
    body = first.json()["photo"]
    assert (body["width"], body["height"], body["content_type"]) == (80, 60, "image/jpeg")
    assert owner.get(body["thumb_url"]).status_code == 200
    old_files = ListingPhoto.objects.get().files()
    with django_capture_on_commit_callbacks(execute=True):
        second = photo(owner, listing["id"], samples.png(30, 40))
    assert second.json()["photo"]["id"] != body["id"]
    current = ListingPhoto.objects.get()
    assert stored_files(media_root) == sorted(current.files())
    assert not set(old_files) & set(stored_files(media_root))
    assert guest_client().get(f"/api/listings/{listing['id']}/").json()["photo"]["height"] == 40


def test_only_the_owner_sets_the_photo_and_bad_files_change_nothing(guest_client, media_root):
    owner, other = guest_client(), guest_client()
    listing = new_listing(owner)
    refused = photo(other, listing["id"])
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    bad = photo(owner, listing["id"], samples.HTML)
    assert bad.status_code == 415 and bad.json()["code"] == "unsupported_media"
    assert Listing.objects.get().photo is None and stored_files(media_root) == []
    assert photo(owner, 999_999).status_code == 404


def test_deleting_a_listing_deletes_its_photo(
    guest_client, media_root, django_capture_on_commit_callbacks
):
    owner = guest_client()
    listing = new_listing(owner)
    photo(owner, listing["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.delete(f"/api/listings/{listing['id']}/").status_code == 204
    assert not ListingPhoto.objects.exists() and stored_files(media_root) == []


def test_listing_fast_path_equals_drf_with_a_photo_and_the_room_carries_it(guest_client):
    owner, borrower = guest_client(), guest_client()
    listing = new_listing(owner)
    photo(owner, listing["id"])
    loaded = Listing.objects.select_related("owner", "photo").get()
    generic = serializers.Serializer.to_representation(ListingSerializer(), loaded)
    assert encode(listing_data(loaded)) == encode(generic)
    room = borrower.post(f"/api/listings/{listing['id']}/chat/").json()
    assert room["listing"]["photo"]["id"] == loaded.photo.id
    assert room["listing"]["status"] == "available"
    inbox = owner.get("/api/rooms/?kind=direct").json()["results"]
    assert inbox[0]["listing"]["photo"]["thumb_url"]
