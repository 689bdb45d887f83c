"""Job kinds for the Python tests: loaded by python3 -m zjob.worker."""

import asyncio
import hashlib
import os
import time

import zjob


@zjob.job
async def fetch(name):
    """The lesson's coroutine: waits a little, returns what it fetched."""
    await asyncio.sleep(0.01)
    return f"fetched {name}"


@zjob.job("py.echo")
async def echo(**args):
    return args


@zjob.job
async def nap(seconds):
    await asyncio.sleep(seconds)
    return seconds


@zjob.job
async def boom(message="boom"):
    raise ValueError(message)


@zjob.job
async def final(message):
    raise zjob.FailedFinal(message)


@zjob.job
async def hog(ms):
    """Holds the loop: the blocking detector must name it."""
    time.sleep(ms / 1000)
    return ms


@zjob.job
async def chatty(lines):
    for index in range(lines):
        print(f"printed {index}")
        zjob.log("logged", index)
        zjob.progress(index + 1, lines, f"line {index}")
        await asyncio.sleep(0)
    return lines


@zjob.job
async def fan(kind, items):
    """Submits one child per item and gathers their results in order."""
    children = await zjob.submit_many([{"kind": kind, "args": item} for item in items])
    zjob.log("children", [child.id for child in children])
    return await zjob.gather(*children)


@zjob.job
async def orphan(kind, args):
    """Submits a child it never awaits."""
    await zjob.submit(kind, args)
    return "left"


@zjob.job
def crunch(n):
    """A CPU job: hashes n times."""
    digest = b"zjob"
    for _ in range(n):
        digest = hashlib.sha256(digest).digest()
    print("crunched", n)
    zjob.progress(n, n, "done")
    return {"n": n, "digest": digest.hex(), "pid": os.getpid()}


@zjob.job
def crash(how):
    if how == "segv":
        import ctypes

        ctypes.string_at(0)
    os._exit(3)


@zjob.job
def spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return seconds


@zjob.job
def cpu_submit():
    """A CPU job may not submit: it gets EDENIED."""
    asyncio.run(zjob.submit("fetch", "x"))


@zjob.job
async def unjson():
    """Returns what JSON cannot hold."""
    return {1, 2}


@zjob.job
async def stuck(seconds):
    """Holds the loop without ever awaiting (for the watchdog)."""
    time.sleep(seconds)
