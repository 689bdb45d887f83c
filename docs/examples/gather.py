"""The lesson's gather, with zjob (docs/python.md): the coroutines run as
jobs on whichever workers offer them, on any host.

    ZJOB_COORDINATOR=tcp://COORDINATOR:7700 python3 gather.py
"""

import asyncio
import time

import zjob


async def main():
    async with zjob.Client() as client:
        started = time.monotonic()
        a = await client.submit("fetch", "a")
        b = await client.submit("fetch", "b")
        print(await asyncio.gather(a, b))
        print(f"both in {time.monotonic() - started:.1f} s")
        squares = await client.submit("crunch", 1_000_000)
        print(await squares)


asyncio.run(main())
