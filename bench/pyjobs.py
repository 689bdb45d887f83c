"""Job kinds of the Python workloads of bench/run (python3 -m zjob.worker)."""

import asyncio
import time

import zjob


@zjob.job("sleep")
async def sleep(seconds):
    """An I/O job: a coroutine that sleeps; zjob-worker's sleep kind's
    args ({"seconds": 1}), so zjbench's io workload runs on it as is."""
    await asyncio.sleep(seconds)


@zjob.job
def spin(seconds):
    """A CPU job: busy for that long in its process."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
