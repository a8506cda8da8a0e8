"""Resume by cursor: a client that was away ends with exactly the screen of one that stayed."""

import pytest
from channels.db import database_sync_to_async

from accounts.services import tokens_for_user
from tests.factories import PublicRoomFactory, UserFactory
from tests.messaging.wsclient import WsClient

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("layer", "hub_cleanup"),
]


class Screen:
    """What a client shows: the client rules of PROTOCOL.md."""

    def __init__(self) -> None:
        self.messages: dict[int, dict] = {}
        self.cursor = 0

    def apply(self, message: dict) -> None:
        held = self.messages.get(message["id"])
        if held is None or message["rev"] > held["rev"]:
            self.messages[message["id"]] = message
        self.cursor = max(self.cursor, message["rev"])

    def view(self) -> list[tuple]:
        return [
            (m["seq"], m["rev"], m["body"], m["deleted"], m["edited_at"] is not None)
            for m in sorted(self.messages.values(), key=lambda m: m["seq"])
        ]


@database_sync_to_async
def make_users():
    users = [UserFactory() for _ in range(3)]
    for user in users:
        user.access = tokens_for_user(user=user)["access"]
    return users


async def drain_messages(client: WsClient, screen: Screen, until_cursor: int) -> None:
    while screen.cursor < until_cursor:
        frame = await client.expect("message", skip=("ack",))
        screen.apply(frame["message"])


async def test_rejoin_with_cursor_ends_with_the_state_of_a_client_that_stayed(settings):
    settings.CHAT = {**settings.CHAT, "SEND_RATE": 1000}
    room = await database_sync_to_async(PublicRoomFactory)()
    writer_user, stayer_user, leaver_user = await make_users()
    writer, _ = await WsClient.open(writer_user.access)
    stayer, _ = await WsClient.open(stayer_user.access)
    leaver, _ = await WsClient.open(leaver_user.access)
    stay_screen, leave_screen = Screen(), Screen()
    for client in (writer, stayer, leaver):
        await client.join(room.id)

    await writer.send(type="send", room=room.id, body="before", client_id="b0")
    await drain_messages(stayer, stay_screen, 1)
    await drain_messages(leaver, leave_screen, 1)
    await leaver.close()  # goes away with cursor 1

    ids = []
    for n in range(30):
        await writer.send(type="send", room=room.id, body=f"message {n}", client_id=f"m{n}")
        ids.append((await writer.expect("ack", skip=("message",)))["message"]["id"])
    for message_id in ids[0:10:2]:
        await writer.send(type="edit", message=message_id, body="edited")
    for message_id in [*ids[1:10:2], ids[12]]:
        await writer.send(type="delete", message=message_id)
    final_cursor = 1 + 30 + 5 + 6
    await drain_messages(stayer, stay_screen, final_cursor)

    back, _ = await WsClient.open(leaver_user.access)
    await back.send(type="join", room=room.id, cursor=leave_screen.cursor)
    while True:
        frame = await back.recv()
        if frame["type"] == "message":
            leave_screen.apply(frame["message"])
        elif frame["type"] == "joined":
            assert frame["cursor"] == final_cursor
            break
    assert leave_screen.cursor == final_cursor
    assert leave_screen.view() == stay_screen.view()
    assert sum(1 for row in stay_screen.view() if row[3]) == 6
    assert sum(1 for row in stay_screen.view() if row[4]) == 5
    for client in (writer, stayer, back):
        await client.close()


async def test_after_a_channel_layer_outage_each_socket_is_sent_what_it_missed():
    """Broadcasts lost while the layer was away are replayed once the hub has its groups back."""
    from messaging.hub import get_hub
    from tests.factories import messages

    room = await database_sync_to_async(PublicRoomFactory)()
    reader_user, writer_user, _ = await make_users()
    reader, _ = await WsClient.open(reader_user.access)
    joined = await reader.join(room.id)
    assert joined["cursor"] == 0
    # Written while the layer was away: stored, never broadcast.
    await database_sync_to_async(messages)(room=room, author=writer_user, count=3)
    hub = await get_hub()
    hub._resubscribe = True  # what a failed layer receive records
    await hub._add_all_groups()
    replayed = [(await reader.expect("message"))["message"]["seq"] for _ in range(3)]
    assert replayed == [1, 2, 3]
    await reader.close()
