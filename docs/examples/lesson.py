"""The lesson's functions as zjob jobs (docs/python.md).

    python3 -m zjob.worker --connect tcp://COORDINATOR:7701 lesson

An `async def` is an I/O job: a coroutine on the worker's event loop,
thousands at once. A plain `def` is a CPU job: it runs in a process of the
worker's pool, so it never blocks that loop.
"""

import asyncio

import zjob


@zjob.job
async def fetch(name):
    """The lesson's coroutine: it awaits (here a sleep stands for the
    network), and lets the worker run others meanwhile."""
    await asyncio.sleep(1)
    return f"fetched {name}"


@zjob.job
def crunch(n):
    """CPU-bound: the sum of the squares below n."""
    return sum(i * i for i in range(n))


@zjob.job
async def fetch_all(names):
    """A job that awaits jobs: one fetch per name, gathered in order."""
    children = [await zjob.submit("fetch", name) for name in names]
    zjob.progress(0, len(children), "fetching")
    return await zjob.gather(*children)
