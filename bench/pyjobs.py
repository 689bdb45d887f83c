"""Job kinds of the Python workloads of bench/run (python3 -m zjob.worker)."""

import asyncio
import time

import zjob


@zjob.job
async def nap(seconds):
    """An I/O job: a coroutine that sleeps."""
    await asyncio.sleep(seconds)


@zjob.job
def spin(seconds):
    """A CPU job: busy for that long in its process."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
