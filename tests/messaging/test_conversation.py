"""(v1.1) Conversation: replies, mentions, reactions, history both ways and search — the
services and the HTTP API, on SQLite and (TEST_DATABASE=postgresql) PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.services import tokens_for_user
from chatsite.foundation.errors import BadRequest, NotFound, RoomClosed
from messaging.models import ChatMessage, Mention, Reaction
from messaging.reactions import EMOJI_MAX, message_react
from messaging.selectors import messages_before, messages_changed_since
from messaging.serializers import message_data
from messaging.services import message_delete, message_edit, message_send
from rooms.models import ChatRoom
from rooms.services import room_set_closed
from tests.factories import ListingFactory, PublicRoomFactory, UserFactory, direct_room, messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def room():
    return PublicRoomFactory()


@pytest.fixture
def alice():
    return UserFactory(nickname="Alice", tag="0001")


@pytest.fixture
def bob():
    return UserFactory(nickname="Bob", tag="0002")


def client_for(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user=user)['access']}")
    return client


def send(room, author, body, *, reply_to=None, client_id=None):
    message, _ = message_send(
        room_id=room.id,
        author=author,
        body=body,
        client_id=client_id or f"c{ChatMessage.objects.count()}-{body[:20]}",
        reply_to=reply_to,
    )
    return message


# --- replies -----------------------------------------------------------------------------


def test_a_reply_carries_a_preview_of_its_parent(room, alice, bob):
    parent = send(room, alice, "x" * 250)
    reply = send(room, bob, "answer", reply_to=parent.id)
    data = message_data(reply)
    assert data["reply_to"] == {
        "id": parent.id,
        "seq": parent.seq,
        "author": message_data(parent)["author"],
        "body": "x" * 200,
        "deleted": False,
    }
    assert message_data(parent)["reply_to"] is None


def test_reply_to_another_rooms_message_or_a_missing_one_is_not_found(room, alice):
    elsewhere = send(PublicRoomFactory(), alice, "there")
    for bad in (elsewhere.id, 999_999):
        with pytest.raises(NotFound):
            send(room, alice, "here", reply_to=bad)
    with pytest.raises(BadRequest):
        send(room, alice, "here", reply_to="12")
    room.refresh_from_db()
    assert room.last_seq == 0 and not ChatMessage.objects.filter(room=room).exists()


def test_an_edited_or_deleted_parent_shows_as_such_in_pages_and_replays(room, alice, bob):
    parent = send(room, alice, "first words")
    reply = send(room, bob, "answer", reply_to=parent.id)
    message_edit(message_id=parent.id, by=alice, body="second words")
    page = messages_before(room=room, before=None, limit=10).results
    assert message_data(page[-1])["reply_to"]["body"] == "second words"
    message_delete(message_id=parent.id, by=alice)
    page = messages_before(room=room, before=reply.seq + 1, limit=1).results  # parent not in it
    preview = message_data(page[0])["reply_to"]
    assert (preview["id"], preview["body"], preview["deleted"]) == (parent.id, "", True)
    replay = messages_changed_since(room_id=room.id, cursor=reply.rev - 1, limit=10)
    assert [m.id for m in replay] == [reply.id, parent.id]
    assert message_data(replay[0])["reply_to"]["deleted"] is True
    assert message_data(replay[1])["reply_to"] is None


def test_a_page_of_replies_loads_parents_in_bulk(room, alice, bob, django_assert_num_queries):
    parents = [send(room, alice, f"p{n}") for n in range(5)]
    for n, parent in enumerate(parents):
        send(room, bob, f"r{n}", reply_to=parent.id)
    with django_assert_num_queries(3):  # the page, the parents not on it, the authors
        page = messages_before(room=room, before=None, limit=5).results
        data = [message_data(m) for m in page]
    assert [d["reply_to"]["body"] for d in data] == [f"p{n}" for n in range(5)]


# --- mentions ----------------------------------------------------------------------------


def test_mentions_resolve_users_in_public_rooms(room, alice, bob):
    carol = UserFactory(nickname="캐롤", tag="0420")
    message = send(room, alice, "hey @Bob#0002 and @캐롤#0420, not @Bob#0003 or @Nobody#1111")
    assert message.mentions == [bob.id, carol.id]
    assert message_data(message)["mentions"] == [bob.id, carol.id]
    assert set(Mention.objects.values_list("user_id", flat=True)) == {bob.id, carol.id}


def test_mentions_in_a_direct_room_resolve_only_the_peer(alice, bob):
    UserFactory(nickname="Carol", tag="0003")  # exists, but cannot read the room
    room = direct_room(listing=ListingFactory(owner=alice), borrower=bob)
    message = send(room, alice, "@Bob#0002 @Carol#0003")
    assert message.mentions == [bob.id]


def test_an_edit_resolves_mentions_again(room, alice, bob):
    message = send(room, alice, "hi @Bob#0002")
    edited = message_edit(message_id=message.id, by=alice, body="hi all")
    assert edited.mentions == [] and not Mention.objects.exists()


def test_mentions_unread_counts_unread_messages_mentioning_me(room, alice, bob):
    send(room, alice, "@Bob#0002 one")
    send(room, alice, "nothing for bob")
    gone = send(room, alice, "@Bob#0002 deleted later")
    send(room, bob, "me myself @Bob#0002")  # my own message never counts
    message_delete(message_id=gone.id, by=alice)
    rooms = client_for(bob).get("/api/rooms/?kind=public").json()["results"]
    mine = next(r for r in rooms if r["id"] == room.id)
    assert mine["mentions_unread"] == 1  # a public room never read in counts from its start
    client_for(bob).post(f"/api/rooms/{room.id}/read/", {"seq": 4}, format="json")
    assert client_for(bob).get(f"/api/rooms/{room.id}/").json()["mentions_unread"] == 0


# --- reactions ---------------------------------------------------------------------------


def test_react_on_and_off_takes_numbers_and_summarizes(room, alice, bob):
    message = send(room, alice, "hello")
    first = message_react(message_id=message.id, user=bob, emoji="👍", on=True)
    assert first.rev == 2
    again = message_react(message_id=message.id, user=bob, emoji="👍", on=True)
    assert again is None  # already so: nothing changes, no number taken
    second = message_react(message_id=message.id, user=alice, emoji="👍", on=True)
    third = message_react(message_id=message.id, user=alice, emoji="🇰🇷", on=True)
    assert (second.rev, third.rev) == (3, 4)
    assert message_data(third)["reactions"] == [
        {"emoji": "👍", "count": 2, "users": [bob.id, alice.id]},
        {"emoji": "🇰🇷", "count": 1, "users": [alice.id]},
    ]
    off = message_react(message_id=message.id, user=bob, emoji="👍", on=False)
    off = message_react(message_id=message.id, user=alice, emoji="👍", on=False)
    assert off.reactions == [{"emoji": "🇰🇷", "count": 1, "users": [alice.id]}]
    assert message_react(message_id=message.id, user=bob, emoji="👍", on=False) is None
    room.refresh_from_db()
    assert room.last_seq == 6
    replay = messages_changed_since(room_id=room.id, cursor=5, limit=10)
    assert message_data(replay[0])["reactions"] == off.reactions


@pytest.mark.parametrize("emoji", ["ok", "👍👍", "👍 ", "", "a👍", 5, None, "👍" * 40])
def test_a_reaction_must_be_a_single_emoji(room, alice, emoji):
    message = send(room, alice, "hello")
    with pytest.raises(BadRequest):
        message_react(message_id=message.id, user=alice, emoji=emoji, on=True)
    assert not Reaction.objects.exists()
    room.refresh_from_db()
    assert room.last_seq == 1


def test_emoji_with_zwj_skin_tone_or_variation_selector_count_as_one(room, alice):
    message = send(room, alice, "hello")
    for emoji in ["👩‍👩‍👧", "👍🏽", "❤️", "❤"]:
        assert message_react(message_id=message.id, user=alice, emoji=emoji, on=True)


def test_at_most_twenty_different_reactions(room, alice, bob):
    message = send(room, alice, "hello")
    faces = [chr(0x1F600 + n) for n in range(EMOJI_MAX + 1)]
    for face in faces[:EMOJI_MAX]:
        message_react(message_id=message.id, user=alice, emoji=face, on=True)
    with pytest.raises(BadRequest):
        message_react(message_id=message.id, user=alice, emoji=faces[-1], on=True)
    # one already there may still be added by another
    assert message_react(message_id=message.id, user=bob, emoji=faces[0], on=True)


def test_reactions_show_the_first_fifty_users_and_the_full_count(room, alice):
    message = send(room, alice, "hello")
    users = [UserFactory() for _ in range(52)]
    for user in users:
        message_react(message_id=message.id, user=user, emoji="🎉", on=True)
    message.refresh_from_db()
    (entry,) = message.reactions
    assert entry["count"] == 52 and entry["users"] == [u.id for u in users[:50]]
    message_react(message_id=message.id, user=users[0], emoji="🎉", on=False)
    message.refresh_from_db()
    assert message.reactions[0]["users"] == [u.id for u in users[1:51]]


def test_a_reaction_costs_a_bounded_number_of_queries(
    room, alice, bob, django_assert_max_num_queries
):
    """A burst of reactions should cost about what a burst of messages does: adding one is
    at most 9 statements (BEGIN and COMMIT included), removing one at most 8."""
    message = send(room, alice, "hello")
    message_react(message_id=message.id, user=alice, emoji="👍", on=True)
    with django_assert_max_num_queries(9):
        message_react(message_id=message.id, user=bob, emoji="👍", on=True)
    with django_assert_max_num_queries(8):
        off = message_react(message_id=message.id, user=alice, emoji="👍", on=False)
    assert off.reactions == [{"emoji": "👍", "count": 1, "users": [bob.id]}]
    with django_assert_max_num_queries(8):  # already so: nothing changes
        assert message_react(message_id=message.id, user=alice, emoji="👍", on=False) is None


def test_reacting_in_others_direct_room_deleted_message_or_closed_room(room, alice, bob):
    stranger = UserFactory()
    direct = direct_room(listing=ListingFactory(owner=alice), borrower=bob)
    private = send(direct, alice, "just us")
    with pytest.raises(NotFound):
        message_react(message_id=private.id, user=stranger, emoji="👍", on=True)
    assert message_react(message_id=private.id, user=bob, emoji="👍", on=True)
    gone = send(room, alice, "oops")
    message_delete(message_id=gone.id, by=alice)
    with pytest.raises(NotFound):
        message_react(message_id=gone.id, user=bob, emoji="👍", on=True)
    with pytest.raises(NotFound):
        message_react(message_id=999_999, user=bob, emoji="👍", on=True)
    with pytest.raises(BadRequest):
        message_react(message_id=gone.id, user=bob, emoji="👍", on="yes")
    kept = send(room, alice, "kept")
    room_set_closed(room=room, closed=True)
    with pytest.raises(RoomClosed):
        message_react(message_id=kept.id, user=bob, emoji="👍", on=True)


# --- history both ways -------------------------------------------------------------------


def test_history_after_pages_forward(room, alice):
    messages(room=room, author=alice, count=30)
    client = client_for(alice)
    page = client.get(f"/api/rooms/{room.id}/messages/?after=10&limit=5").json()
    assert [m["seq"] for m in page["results"]] == [11, 12, 13, 14, 15] and page["has_more"]
    end = client.get(f"/api/rooms/{room.id}/messages/?after=26&limit=5").json()
    assert [m["seq"] for m in end["results"]] == [27, 28, 29, 30] and not end["has_more"]


def test_history_around_a_seq(room, alice):
    messages(room=room, author=alice, count=30)
    client = client_for(alice)
    page = client.get(f"/api/rooms/{room.id}/messages/?around=15&limit=6").json()
    assert [m["seq"] for m in page["results"]] == [13, 14, 15, 16, 17, 18]
    assert page["has_more_before"] and page["has_more_after"]
    start = client.get(f"/api/rooms/{room.id}/messages/?around=2&limit=7").json()
    assert [m["seq"] for m in start["results"]] == [1, 2, 3, 4, 5]
    assert not start["has_more_before"] and start["has_more_after"]
    end = client.get(f"/api/rooms/{room.id}/messages/?around=30&limit=3").json()
    assert [m["seq"] for m in end["results"]] == [29, 30]
    assert end["has_more_before"] and not end["has_more_after"]


def test_history_around_a_seq_that_is_no_message_is_404(room, alice):
    message = send(room, alice, "hello")
    message_edit(message_id=message.id, by=alice, body="hello!")  # seq 2 is an edit's number
    client = client_for(alice)
    for seq in (2, 99):
        response = client.get(f"/api/rooms/{room.id}/messages/?around={seq}")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    both = client.get(f"/api/rooms/{room.id}/messages/?around=1&before=3")
    assert both.status_code == 400 and both.json()["code"] == "bad_request"


def test_history_around_in_others_direct_room_is_404(alice, bob):
    direct = direct_room(listing=ListingFactory(owner=alice), borrower=bob)
    send(direct, alice, "private")
    response = client_for(UserFactory()).get(f"/api/rooms/{direct.id}/messages/?around=1")
    assert response.status_code == 404


# --- search ------------------------------------------------------------------------------


def search(user, **params):
    response = client_for(user).get("/api/search/", params)
    assert response.status_code == 200, response.json()
    return response.json()


def hits(user, **params):
    return [r["message"]["id"] for r in search(user, **params)["results"]]


def test_search_finds_substrings_in_korean_english_and_mixed_text(room, alice):
    korean = send(room, alice, "오늘 캠핑장 예약했어요")
    english = send(room, alice, "The Camping TENT is ready")
    mixed = send(room, alice, "텐트tent 빌려줄 수 있어요?")
    send(room, alice, "unrelated words")
    assert hits(alice, q="캠핑") == [korean.id]
    assert hits(alice, q="캠핑장 예약") == [korean.id]
    assert hits(alice, q="camping") == [english.id]
    assert hits(alice, q="tent") == [mixed.id, english.id]
    assert hits(alice, q="트tEN") == [mixed.id]
    hit = search(alice, q="ready")["results"][0]
    assert hit["room"]["id"] == room.id and hit["room"]["name"] == room.name
    assert hit["message"] == message_data(english)


def test_search_reflects_edits_and_deletes(room, alice):
    message = send(room, alice, "blue tarp for rent")
    other = send(room, alice, "a green tarp")
    message_edit(message_id=message.id, by=alice, body="red tarp for rent")
    assert search(alice, q="blue")["results"] == []
    assert hits(alice, q="red tarp") == [message.id]
    message_delete(message_id=other.id, by=alice)
    assert hits(alice, q="tarp") == [message.id]
    message_react(message_id=message.id, user=alice, emoji="👍", on=True)  # no body change
    assert hits(alice, q="tarp") == [message.id]


def test_search_drops_a_hidden_message_and_finds_it_again_once_restored(room, alice):
    """A moderator's hide (reports) keeps the text for review but takes it out of search;
    a restore puts it back, on either engine's index."""
    from messaging.services import message_hide, message_restore

    message = send(room, alice, "spare camping stove")
    message_hide(message_id=message.id)
    assert search(alice, q="camping stove")["results"] == []
    message_restore(message_id=message.id)
    assert hits(alice, q="camping stove") == [message.id]


def test_search_only_in_rooms_the_caller_may_read(alice, bob):
    public = PublicRoomFactory()
    direct = direct_room(listing=ListingFactory(owner=alice), borrower=bob)
    outside = send(public, alice, "secret tent")
    inside = send(direct, alice, "secret tent price")
    stranger = UserFactory()
    assert hits(stranger, q="secret") == [outside.id]
    assert hits(bob, q="secret") == [inside.id, outside.id]
    hit = search(bob, q="price")["results"][0]
    assert hit["room"]["kind"] == "direct" and hit["room"]["peer"]["id"] == alice.id
    only = search(bob, q="secret", room=public.id)["results"]
    assert [r["message"]["id"] for r in only] == [outside.id]
    refused = client_for(stranger).get("/api/search/", {"q": "secret", "room": direct.id})
    assert refused.status_code == 404


def test_search_two_characters_works_and_pages_newest_first(room, alice):
    sent = [send(room, alice, f"item {n} 가방") for n in range(45)]
    first = search(alice, q="가방")
    assert [r["message"]["id"] for r in first["results"]] == [m.id for m in sent[::-1][:20]]
    assert first["next_before"] == sent[25].id
    second = search(alice, q="가방", before=first["next_before"])
    third = search(alice, q="가방", before=second["next_before"])
    assert [r["message"]["id"] for r in third["results"]] == [m.id for m in sent[4::-1]]
    assert third["next_before"] is None
    trigram = search(alice, q="m 4")  # 3 characters: the trigram index
    assert {r["message"]["id"] for r in trigram["results"]} == {sent[4].id} | {
        m.id for m in sent[40:45]
    }


def test_search_is_case_insensitive(room, alice):
    message = send(room, alice, "Hello WORLD")
    assert hits(alice, q="world") == [message.id]
    assert hits(alice, q="lO") == [message.id]


@pytest.mark.parametrize("q", ["a", " a ", "x" * 101, ""])
def test_search_refuses_one_character_or_over_a_hundred(alice, q):
    response = client_for(alice).get("/api/search/", {"q": q})
    assert response.status_code == 400 and response.json()["code"] == "bad_request"


def test_search_quotes_and_wildcards_are_plain_text(room, alice):
    quoted = send(room, alice, 'he said "tent" 100%_sure')
    send(room, alice, "100 percent")
    for q in ['"tent"', "100%", "%_", 'd "t']:
        assert hits(alice, q=q) == [quoted.id], q


def test_direct_room_search_uses_the_room_object_of_the_caller(alice, bob):
    direct = direct_room(listing=ListingFactory(owner=alice), borrower=bob)
    send(direct, alice, "hello there")
    hit = search(alice, q="hello")["results"][0]
    assert hit["room"]["peer"]["id"] == bob.id
    assert ChatRoom.objects.get(pk=direct.id).kind == "direct"


def test_search_costs_a_bounded_number_of_queries(room, alice):
    for n in range(30):
        send(room, alice, f"needle {n}")
    client = client_for(alice)
    with CaptureQueriesContext(connection) as queries:
        client.get("/api/search/", {"q": "needle"})
    assert len(queries) <= 10


def test_the_search_query_matches_its_index(room, alice):
    """PostgreSQL: the GIN index's expression is the one ``icontains`` compares (else every
    search reads the whole table). SQLite: the FTS5 table holds exactly the live messages."""
    kept = send(room, alice, "needle in a haystack")
    gone = send(room, alice, "another needle")
    message_delete(message_id=gone.id, by=alice)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            plan = ChatMessage.objects.filter(body__icontains="needle").explain()
            assert "message_body_trgm_idx" in plan, plan
        else:
            cursor.execute("SELECT rowid, body, room FROM messaging_search")
            assert cursor.fetchall() == [(kept.id, kept.body, room.id)]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the FTS5 index is SQLite's")
def test_search_index_triggers_come_back_after_a_table_rebuild(room, alice):
    """SQLite rebuilds a table to alter it, dropping its triggers: migrate puts them back."""
    from messaging.search import messages_search
    from messaging.search_index import TRIGGERS, sqlite_triggers_ensure

    message_send(room_id=room.id, author=alice, body="before the rebuild", client_id="a")
    with connection.cursor() as cursor:
        for name in TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
    message_send(room_id=room.id, author=alice, body="written while unindexed", client_id="b")
    assert sqlite_triggers_ensure(using="default") is True
    message_send(room_id=room.id, author=alice, body="after the rebuild", client_id="c")
    found = {m.body for m, _ in messages_search(user=alice, q="the rebuild").results}
    assert found == {"before the rebuild", "after the rebuild"}
    assert [m.body for m, _ in messages_search(user=alice, q="unindexed").results] == [
        "written while unindexed"
    ]
    assert sqlite_triggers_ensure(using="default") is False  # nothing missing now
