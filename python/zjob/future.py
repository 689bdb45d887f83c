"""zjob.Future: a job's outcome as an asyncio future.

A zjob.Future is an asyncio.Future, so `await fut`, asyncio.gather,
asyncio.wait and asyncio.as_completed take it as they take any future.
Its owner (a Client, or the worker for a job's children) is asked to
watch the job only once somebody waits for it: the first callback added,
which is what every await does. One that nobody ever waits for warns when
it is collected, as a coroutine never awaited does.

Cancelling the asyncio future (a timeout of asyncio.wait_for, a cancelled
task) stops waiting here; the job itself goes on. Cancel the job with the
owner's cancel.
"""

import asyncio
import warnings

from zjob import _wire
from zjob.errors import job_error


class Future(asyncio.Future):
    """The future outcome of job `id`; `await` it for the job's result.

    Awaiting it gives the result (the job's JSON result as Python values)
    or raises zjob.JobFailed or zjob.JobCancelled. `record` holds the
    job's final record (a dict of the wire's job fields) once it is done.
    """

    def __init__(self, job_id, owner, kind=None):
        super().__init__()
        self.id = job_id
        self.kind = kind
        self.record = None
        self._owner = owner
        self._watched = False

    def __repr__(self):
        state = self.record["state"] if self.record else "pending"
        return f"<zjob.Future id={self.id} kind={self.kind} {state}>"

    def __hash__(self):
        return id(self)

    def add_done_callback(self, fn, *, context=None):
        self._watch()
        super().add_done_callback(fn, context=context)

    def _watch(self):
        if not self._watched:
            self._watched = True
            if not self.done():
                self._owner._watch(self)

    def _settle(self, record):
        """Ends the future with a final job record; a done one stays."""
        if self.done():
            return
        self.record = record
        if record.get("state") == "succeeded":
            self.set_result(_wire.from_json(record.get("result")))
            return
        self.set_exception(job_error(record))

    def _forget(self):
        """Says that nobody has to await this one (ended elsewhere)."""
        self._watched = True

    def __del__(self):
        if not self._watched:
            kind = f" (kind {self.kind})" if self.kind else ""
            warnings.warn(
                f"zjob.Future for job {self.id}{kind} was never awaited",
                RuntimeWarning,
                stacklevel=2,
            )
        super().__del__()


async def as_completed(futures, timeout=None):
    """Yields the futures as their jobs end, the first done first; raises
    TimeoutError once timeout seconds passed, after yielding those done
    by then. Each future is awaited (watched) from the start."""
    futures = list(dict.fromkeys(futures))
    loop = asyncio.get_running_loop()
    done = asyncio.Queue()
    for future in futures:
        future.add_done_callback(done.put_nowait)
    deadline = None if timeout is None else loop.time() + timeout
    try:
        for _ in range(len(futures)):
            left = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                yield await asyncio.wait_for(done.get(), left)
            except asyncio.TimeoutError:
                late = done.qsize() + sum(not future.done() for future in futures)
                raise TimeoutError(f"{late} jobs not finished within {timeout:g} s") from None
    finally:
        for future in futures:
            future.remove_done_callback(done.put_nowait)
