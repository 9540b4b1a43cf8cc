"""Checks a running echo with Python's websockets (Debian's python3-websockets 10.4, legacy API).

Usage: /usr/bin/python3 test/e2e/echo_client.py ws://127.0.0.1:8787/echo [PREFIX] [MAX_MESSAGE_BYTES]
Prints one "ok ..." line per check and exits 0, or names the first wrong echo and exits 1.
"""

import asyncio
import sys

import websockets

URI = sys.argv[1]
PREFIX = sys.argv[2] if len(sys.argv) > 2 else "echo: "
LIMIT = int(sys.argv[3]) if len(sys.argv) > 3 else 1048576
HEADERS = {"User-Agent": "websocket-echo e2e (python websockets %s)" % websockets.__version__}


def connect(subprotocols=None):
    # No permessage-deflate: the frames on the wire are the ones we send; max_size fits an echo of the limit.
    return websockets.connect(
        URI,
        extra_headers=HEADERS,
        compression=None,
        max_size=2 * LIMIT,
        open_timeout=10,
        subprotocols=subprotocols,
    )


def expect(what, actual, expected):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what, expected, actual))
    print("ok", what, flush=True)


async def reply(ws):
    return await asyncio.wait_for(ws.recv(), timeout=10)


async def main():
    async with connect() as ws:
        await ws.send("hello")
        expect("text", await reply(ws), PREFIX + "hello")
        text = "héllo → 世界 🌍"
        await ws.send(text)
        expect("utf-8 text", await reply(ws), PREFIX + text)
        payload = bytes(range(256))
        await ws.send(payload)
        expect("binary stays binary", await reply(ws), PREFIX.encode() + payload)
        await ws.close(code=4000, reason="bye from python")
        expect("close code mirrored", ws.close_code, 4000)
        expect("close reason mirrored", ws.close_reason, "bye from python")

    async with connect() as ws:
        await ws.send(bytes(LIMIT))
        expect("message of exactly the limit", len(await reply(ws)), len(PREFIX.encode()) + LIMIT)
        await ws.send(bytes(LIMIT + 1))
        try:
            extra = await reply(ws)
            raise AssertionError("limit + 1 was echoed (%d bytes)" % len(extra))
        except websockets.ConnectionClosed as closed:
            expect("limit + 1 closes with 1009", (closed.rcvd.code, closed.rcvd.reason), (1009, "message too big"))

    async with connect(subprotocols=["mqtt", "chat"]) as ws:
        expect("first subprotocol agreed", ws.subprotocol, "mqtt")
        await ws.send("through mqtt")
        expect("echo through the subprotocol", await reply(ws), PREFIX + "through mqtt")


try:
    asyncio.run(main())
except Exception as error:
    print("FAIL", type(error).__name__, error, flush=True)
    sys.exit(1)
