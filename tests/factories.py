import factory
from factory.django import DjangoModelFactory

from accounts.models import User
from messaging.models import ChatMessage
from rooms.models import ChatRoom, Listing, Membership


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    nickname = factory.Sequence(lambda n: f"Tester{n}")
    tag = factory.Sequence(lambda n: f"{n % 10000:04d}")
    is_guest = True


class ListingFactory(DjangoModelFactory):
    class Meta:
        model = Listing

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Camping tent {n}")
    description = "Sleeps two."


class PublicRoomFactory(DjangoModelFactory):
    class Meta:
        model = ChatRoom

    kind = ChatRoom.PUBLIC
    name = factory.Sequence(lambda n: f"room-{n}")


def direct_room(*, listing: Listing, borrower: User) -> ChatRoom:
    room = ChatRoom.objects.create(
        kind=ChatRoom.DIRECT, listing=listing, borrower=borrower, name=listing.title
    )
    Membership.objects.create(room=room, user=listing.owner, role=Membership.OWNER)
    Membership.objects.create(room=room, user=borrower, role=Membership.BORROWER)
    return room


def messages(*, room: ChatRoom, author: User, count: int, start: int = 1) -> list[ChatMessage]:
    """Bulk history for paging tests; keeps the room counter in step."""
    rows = [
        ChatMessage(
            room=room,
            author=author,
            body=f"message {n}",
            client_id=f"bulk-{room.id}-{n}",
            seq=n,
            rev=n,
        )
        for n in range(start, start + count)
    ]
    ChatMessage.objects.bulk_create(rows)
    ChatRoom.objects.filter(pk=room.pk).update(last_seq=start + count - 1)
    room.refresh_from_db()
    return rows
