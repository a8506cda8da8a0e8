"""The ceiling: a bare ``websockets`` broadcast server speaking just enough chat.v1.

No storage, no auth, no channel layer: ``send`` is acked and the message frame is written to
every connection with ``websockets.broadcast`` (encoded once). The same load generator runs
against it, so every figure in the report is also a ratio to what Python does here.
"""

import argparse
import asyncio
import itertools
import json

from websockets.asyncio.server import broadcast, serve

connections: set = set()
seq = itertools.count(1)


async def handler(ws) -> None:  # type: ignore[no-untyped-def]
    connections.add(ws)
    try:
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "join":
                await ws.send(
                    json.dumps(
                        {
                            "type": "joined",
                            "room": frame["room"],
                            "cursor": 0,
                            "online": 0,
                            "users": [],
                        }
                    )
                )
            elif frame["type"] == "send":
                n = next(seq)
                message = {
                    "id": n,
                    "room": frame["room"],
                    "seq": n,
                    "rev": n,
                    "body": frame["body"],
                    "client_id": frame["client_id"],
                }
                await ws.send(
                    json.dumps({"type": "ack", "client_id": frame["client_id"], "message": message})
                )
                broadcast(connections, json.dumps({"type": "message", "message": message}))
    finally:
        connections.discard(ws)


async def main(port: int) -> None:
    async with serve(
        handler, "127.0.0.1", port, subprotocols=["chat.v1"], compression=None, max_queue=None
    ):
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
