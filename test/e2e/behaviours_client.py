"""Checks the greeting and the pushes of /echo with Python's websockets (Debian's python3-websockets 10.4).

Usage: /usr/bin/python3 test/e2e/behaviours_client.py ws://127.0.0.1:8787/echo
Connects to /echo?greeting=hi&push=tick&push_every_ms=50&push_count=3 and prints one "ok ..." line per
check and exits 0, or names the first check that failed and exits 1.
"""

import asyncio
import sys

import websockets

URI = sys.argv[1]
EVERY_MS = 50
COUNT = 3
QUERY = "?greeting=hi&push=tick&push_every_ms=%d&push_count=%d" % (EVERY_MS, COUNT)
HEADERS = {"User-Agent": "websocket-echo e2e (python websockets %s)" % websockets.__version__}


def expect(what, actual, expected):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what, expected, actual))
    print("ok", what, flush=True)


async def main():
    async with websockets.connect(URI + QUERY, extra_headers=HEADERS, compression=None, open_timeout=10) as ws:
        expect("greeting first", await asyncio.wait_for(ws.recv(), timeout=10), "hi")
        await ws.send("ping")
        # The pushes run on their own clock, whatever the client sends: the echo may come among them.
        others = []
        while others.count("tick") < COUNT or "echo: ping" not in others:
            others.append(await asyncio.wait_for(ws.recv(), timeout=10))
        expect("pushes and echo", sorted(others), sorted(["tick"] * COUNT + ["echo: ping"]))
        # A fourth push would be due EVERY_MS after the third; nothing may come in four such intervals.
        try:
            extra = await asyncio.wait_for(ws.recv(), timeout=4 * EVERY_MS / 1000)
            raise AssertionError("no more than %d pushes: got %r after them" % (COUNT, extra))
        except asyncio.TimeoutError:
            print("ok no push after the last", flush=True)
    expect("closed normally", (ws.close_code, ws.close_reason), (1000, ""))


try:
    asyncio.run(main())
except Exception as error:
    print("FAIL", type(error).__name__, error, flush=True)
    sys.exit(1)
