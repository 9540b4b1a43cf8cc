"""Watches a tap with Python's websockets (Debian's python3-websockets 10.4, legacy API).

Usage: /usr/bin/python3 test/e2e/tap_watcher.py ws://127.0.0.1:8787/tap/NAME
Prints "watching" once the watcher's socket is open, then each event's JSON on a line of its own, and exits 0
after the first "end" event; exits 1 if none comes within 20 s.
"""

import asyncio
import json
import sys

import websockets

URI = sys.argv[1]


async def main():
    async with websockets.connect(URI, compression=None, open_timeout=10) as ws:
        print("watching", flush=True)
        while True:
            message = await asyncio.wait_for(ws.recv(), timeout=20)
            print(message, flush=True)
            if json.loads(message)["type"] == "end":
                await ws.close(code=1000)
                return


try:
    asyncio.run(main())
except Exception as error:  # noqa: BLE001: the test reads the failure from stdout
    print("FAIL", type(error).__name__, error, flush=True)
    sys.exit(1)
