import pytest

from messaging.services import message_send
from rooms.models import ChatRoom, Membership
from tests.factories import ListingFactory, PublicRoomFactory, direct_room

pytestmark = pytest.mark.django_db


def test_general_room_exists_from_the_migration(guest_client):
    rooms = guest_client().get("/api/rooms/").json()["results"]
    assert [r["name"] for r in rooms if r["kind"] == "public"] == ["general"]


def test_create_public_room_and_names_are_unique_ignoring_case(guest_client):
    client = guest_client()
    response = client.post("/api/rooms/", {"name": "  Board   games "}, format="json")
    assert response.status_code == 201
    room = response.json()
    assert room["name"] == "Board games"
    assert room["kind"] == "public" and room["peer"] is None and room["listing"] is None
    assert (room["last_seq"], room["unread"], room["online"], room["is_closed"]) == (0, 0, 0, False)
    taken = guest_client().post("/api/rooms/", {"name": "BOARD GAMES"}, format="json")
    assert taken.status_code == 409
    assert taken.json()["code"] == "name_taken"
    assert ChatRoom.objects.filter(name__iexact="board games").count() == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 81])
def test_room_name_must_have_1_to_80_characters(guest_client, name):
    response = guest_client().post("/api/rooms/", {"name": name}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_room_list_shows_public_and_own_direct_rooms_by_recent_activity(guest_client):
    me, owner, stranger = guest_client(), guest_client(), guest_client()
    quiet = PublicRoomFactory(name="quiet")
    mine = direct_room(listing=ListingFactory(owner=owner.user), borrower=me.user)
    direct_room(listing=ListingFactory(owner=owner.user), borrower=stranger.user)
    message_send(room_id=quiet.id, author=owner.user, body="first", client_id="a")
    message_send(room_id=mine.id, author=owner.user, body="latest", client_id="b")
    rooms = me.get("/api/rooms/").json()["results"]
    assert [r["id"] for r in rooms][:2] == [mine.id, quiet.id]
    assert {r["name"] for r in rooms} == {"general", "quiet", mine.name}
    direct = rooms[0]
    assert direct["peer"]["id"] == owner.user.id
    assert direct["listing"]["id"] == mine.listing_id
    assert direct["last_message"]["body"] == "latest"
    assert direct["unread"] == 1


def test_room_list_is_cursor_paginated(guest_client):
    client = guest_client()
    for n in range(60):
        PublicRoomFactory(name=f"r{n}")
    first = client.get("/api/rooms/").json()
    assert len(first["results"]) == 50 and first["next"]
    second = client.get(first["next"]).json()
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert len(ids) == len(set(ids)) == 61


def test_unread_counts_others_messages_after_the_read_place(guest_client):
    owner, borrower = guest_client(), guest_client()
    room = direct_room(listing=ListingFactory(owner=owner.user), borrower=borrower.user)
    for n in range(3):
        message_send(room_id=room.id, author=owner.user, body=f"m{n}", client_id=f"o{n}")
    message_send(room_id=room.id, author=borrower.user, body="mine", client_id="b0")
    assert borrower.get(f"/api/rooms/{room.id}/").json()["unread"] == 3
    assert owner.get(f"/api/rooms/{room.id}/").json()["unread"] == 1
    assert (
        borrower.post(f"/api/rooms/{room.id}/read/", {"seq": 2}, format="json").status_code == 204
    )
    assert borrower.get(f"/api/rooms/{room.id}/").json()["unread"] == 1
    borrower.post(f"/api/rooms/{room.id}/read/", {"seq": 1}, format="json")  # never moves back
    assert Membership.objects.get(room=room, user=borrower.user).last_read_seq == 2
    borrower.post(f"/api/rooms/{room.id}/read/", {"seq": 10_000}, format="json")  # clamped
    assert Membership.objects.get(room=room, user=borrower.user).last_read_seq == 4
    assert borrower.get(f"/api/rooms/{room.id}/").json()["unread"] == 0


def test_public_room_unread_starts_at_zero_and_counts_after_a_read(guest_client):
    reader, writer = guest_client(), guest_client()
    room = PublicRoomFactory()
    message_send(room_id=room.id, author=writer.user, body="old", client_id="w0")
    assert reader.get(f"/api/rooms/{room.id}/").json()["unread"] == 0
    reader.post(f"/api/rooms/{room.id}/read/", {"seq": 1}, format="json")
    message_send(room_id=room.id, author=writer.user, body="new", client_id="w1")
    assert reader.get(f"/api/rooms/{room.id}/").json()["unread"] == 1


def test_read_marks_over_http_share_the_sockets_read_budget(guest_client, settings):
    settings.CHAT = {**settings.CHAT, "READ_RATE": 2}
    reader = guest_client()
    room = PublicRoomFactory()
    for seq in (0, 0):
        response = reader.post(f"/api/rooms/{room.id}/read/", {"seq": seq}, format="json")
        assert response.status_code == 204
    refused = reader.post(f"/api/rooms/{room.id}/read/", {"seq": 0}, format="json")
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited" and refused.json()["retry_after"] >= 1


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/api/rooms/{id}/", None),
        ("get", "/api/rooms/{id}/messages/", None),
        ("post", "/api/rooms/{id}/read/", {"seq": 1}),
    ],
)
def test_non_member_gets_404_for_a_direct_room(guest_client, method, path, data):
    owner, borrower, stranger = guest_client(), guest_client(), guest_client()
    room = direct_room(listing=ListingFactory(owner=owner.user), borrower=borrower.user)
    response = getattr(stranger, method)(path.format(id=room.id), data, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert getattr(borrower, method)(path.format(id=room.id), data, format="json").status_code in {
        200,
        204,
    }


def test_chat_with_the_owner_creates_once_then_finds(guest_client):
    owner, visitor = guest_client(), guest_client()
    listing = ListingFactory(owner=owner.user)
    created = visitor.post(f"/api/listings/{listing.id}/chat/")
    assert created.status_code == 201
    room = created.json()
    assert room["kind"] == "direct" and room["peer"]["id"] == owner.user.id
    assert room["listing"]["id"] == listing.id
    again = visitor.post(f"/api/listings/{listing.id}/chat/")
    assert again.status_code == 200 and again.json()["id"] == room["id"]
    assert owner.get(f"/api/rooms/{room['id']}/").json()["peer"]["id"] == visitor.user.id
    roles = dict(Membership.objects.filter(room_id=room["id"]).values_list("user_id", "role"))
    assert roles == {owner.user.id: "owner", visitor.user.id: "borrower"}


def test_owner_cannot_chat_with_themselves(guest_client):
    owner = guest_client()
    listing = ListingFactory(owner=owner.user)
    response = owner.post(f"/api/listings/{listing.id}/chat/")
    assert response.status_code == 400
    assert response.json()["code"] == "own_listing"
    assert not ChatRoom.objects.filter(kind="direct").exists()


def test_direct_room_survives_its_listing(guest_client):
    owner, visitor = guest_client(), guest_client()
    listing = ListingFactory(owner=owner.user)
    room_id = visitor.post(f"/api/listings/{listing.id}/chat/").json()["id"]
    owner.delete(f"/api/listings/{listing.id}/")
    room = visitor.get(f"/api/rooms/{room_id}/").json()
    assert room["listing"] is None and room["peer"]["id"] == owner.user.id


def test_room_list_filters_by_kind_across_pages(guest_client):
    """The inbox reads ``?kind=direct`` and follows ``next``: direct rooms are not crowded
    out of the first page by public ones."""
    me, owner = guest_client(), guest_client()
    for n in range(60):
        PublicRoomFactory(name=f"r{n}")
    direct_ids = {
        direct_room(listing=ListingFactory(owner=owner.user), borrower=me.user).id
        for _ in range(55)
    }
    direct_room(listing=ListingFactory(owner=owner.user), borrower=guest_client().user)
    seen, url = [], "/api/rooms/?kind=direct"
    while url:
        page = me.get(url).json()
        seen += page["results"]
        url = page["next"]
    assert {r["kind"] for r in seen} == {"direct"}
    assert [r["id"] for r in seen] == sorted(direct_ids, reverse=True)  # newest first
    public = me.get("/api/rooms/?kind=public").json()
    assert {r["kind"] for r in public["results"]} == {"public"} and public["next"]


@pytest.mark.parametrize("kind", ["private", "DIRECT", "public,direct"])
def test_room_list_refuses_an_unknown_kind(guest_client, kind):
    response = guest_client().get("/api/rooms/", {"kind": kind})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert "kind" in response.json()["fields"]
