"""zjob for Python: an asyncio client and an asyncio worker.

    import zjob

    @zjob.job
    async def fetch(name):          # an I/O job: a task on the worker's loop
        ...

    @zjob.job
    def crunch(n):                  # a CPU job: a process of the worker's pool
        ...

    async with zjob.Client() as c:  # $ZJOB_COORDINATOR, or 127.0.0.1:7700
        futures = [await c.submit("fetch", name) for name in ("a", "b")]
        print(await asyncio.gather(*futures))

Run the worker with `python3 -m zjob.worker --connect EP MODULE...`.
docs/python.md is the guide; proto/PROTOCOL.md the wire protocol.
"""

from zjob.errors import (
    Error,
    FailedFinal,
    JobCancelled,
    JobError,
    JobFailed,
    Unreachable,
)
from zjob.future import Future
from zjob.jobs import (
    as_completed,
    current,
    gather,
    job,
    log,
    progress,
    submit,
    submit_many,
)

__version__ = "0.1.0"

__all__ = [
    "BlockingClient",
    "Client",
    "Error",
    "FailedFinal",
    "Future",
    "JobCancelled",
    "JobError",
    "JobFailed",
    "Unreachable",
    "as_completed",
    "current",
    "gather",
    "job",
    "log",
    "progress",
    "submit",
    "submit_many",
]


def __getattr__(name):
    #  The client modules load on first use: a worker never needs them.
    if name == "Client":
        from zjob.client import Client

        return Client
    if name == "BlockingClient":
        from zjob.blocking import BlockingClient

        return BlockingClient
    raise AttributeError(f"module 'zjob' has no attribute {name!r}")
