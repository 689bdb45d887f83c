"""Job kinds and what a running job can reach: @zjob.job, zjob.progress,
zjob.log, and sub-jobs (zjob.submit, zjob.gather, zjob.as_completed).

An `async def` registered with @zjob.job is an I/O job: it runs as a task
on the worker's asyncio loop. A plain `def` is a CPU job: it runs in a
process of the worker's pool. The kind is the function's name, or the
name given to the decorator.

The running job is a context variable: each I/O job's task has its own,
and a CPU job's process sets it for the call.
"""

import asyncio
import contextvars
import inspect

from zjob import _wire
from zjob.errors import Error, FailedFinal
from zjob.future import as_completed as future_as_completed

_registry = {}
_current = contextvars.ContextVar("zjob_current_job", default=None)


class Kind:
    """A registered kind: its name, function and class ("io" or "cpu")."""

    def __init__(self, name, function):
        self.name = name
        self.function = function
        self.klass = "io" if inspect.iscoroutinefunction(function) else "cpu"
        try:
            self.signature = inspect.signature(function)
        except (TypeError, ValueError):
            self.signature = None  #  Nothing to check args against

    def __repr__(self):
        return f"<zjob kind {self.name} {self.klass}>"


def job(name_or_function=None):
    """Registers a function as a job kind: `@zjob.job` or `@zjob.job("name")`.

    Returns the function unchanged, so it can still be called directly.
    """
    if callable(name_or_function):
        return _register(name_or_function, name_or_function.__name__)

    def register(function):
        return _register(function, name_or_function or function.__name__)

    return register


def _register(function, name):
    _wire.check_kind(name)
    known = _registry.get(name)
    if known and known.function is not function and (
        known.function.__module__,
        known.function.__qualname__,
    ) != (function.__module__, function.__qualname__):
        raise ValueError(
            f"kind {name!r} is registered twice: "
            f"{known.function.__module__}.{known.function.__qualname__} and "
            f"{function.__module__}.{function.__qualname__}"
        )
    _registry[name] = Kind(name, function)
    return function


def kinds():
    """The registered kinds, by name."""
    return dict(_registry)


def call(kind, args):
    """Calls a kind's function with a job's args as Celery users expect.

    A JSON object gives keyword arguments, an array positional ones, null
    (or no args) none, and any other value the one argument. Args that do
    not fit the function's parameters raise FailedFinal: a retry would
    not fit them either.
    """
    if args is None:
        positional, named = (), {}
    elif isinstance(args, dict):
        positional, named = (), args
    elif isinstance(args, list):
        positional, named = args, {}
    else:
        positional, named = (args,), {}
    try:
        return kind.function(*positional, **named)
    except TypeError:
        #  The args, or the function's own code? Its signature tells.
        if kind.signature is None:
            raise
        try:
            kind.signature.bind(*positional, **named)
        except TypeError as error:
            raise FailedFinal(f"bad args for {kind.name}: {error}") from None
        raise


def describe(error):
    """A job's one-line error for an exception: its type and message."""
    text = str(error).strip().splitlines()
    message = text[0] if text else ""
    name = type(error).__name__
    line = f"{name}: {message}" if message else name
    return line[: _wire.MAX_TEXT]


class JobInfo:
    """What a running job knows of itself: id, kind, attempt."""

    def __init__(self, job_id, kind, attempt):
        self.id = job_id
        self.kind = kind
        self.attempt = attempt

    def __repr__(self):
        return f"<zjob job {self.id} kind={self.kind} attempt={self.attempt}>"

    #  What a context offers; the worker's and the CPU pool's fill them in.
    def _progress(self, done, total, text):
        raise NotImplementedError

    def _log(self, text):
        raise NotImplementedError

    async def _submit(self, specs):
        raise Error("EDENIED", "only I/O jobs may submit and await jobs")


def current():
    """The running job (a JobInfo: id, kind, attempt).

    Raises RuntimeError outside a job.
    """
    context = _current.get()
    if context is None:
        raise RuntimeError("not inside a zjob job")
    return context


def progress(done, total=0, text=None):
    """Reports how far the running job is: done of total units (total 0:
    unknown), and what it is doing. Reports are sent at a bounded rate;
    the latest counts."""
    if not isinstance(done, int) or not isinstance(total, int):
        raise TypeError("done and total are integers")
    if done < 0 or total < 0:
        raise ValueError("done and total are >= 0")
    if text is not None:
        text = str(text)[: _wire.MAX_PROGRESS_TEXT]
    current()._progress(done, total, text)


def log(*parts, sep=" "):
    """Adds a line to the running job's log (`zjob logs ID`)."""
    current()._log(sep.join(str(part) for part in parts) + "\n")


async def submit(kind, args=None, **options):
    """Submits a child of the running I/O job; returns its zjob.Future.

    options are those of Client.submit (timeout, retries, backoff,
    priority, delay, after). Children are keyed by the parent's call
    order: a parent that runs again gets the same children back.
    """
    if "unique" in options or "unique_for" in options:
        raise ValueError("unique is for Client.submit: a parent's calls key "
                         "its children")
    futures = await current()._submit([_wire.job_map(kind, args, **options)])
    return futures[0]


async def submit_many(specs):
    """Submits several children at once; returns their futures in order.

    specs: dicts with "kind", "args" and submit's options, or (kind, args).
    """
    maps = [_wire.spec_map(spec) for spec in specs]
    if any("unique" in job for job in maps):
        raise ValueError("unique is for Client.submit: a parent's calls key "
                         "its children")
    if not maps:
        return []
    return await current()._submit(maps)


async def gather(*futures, return_exceptions=False):
    """Awaits the futures; their results in order (asyncio.gather)."""
    return await asyncio.gather(*futures, return_exceptions=return_exceptions)


def as_completed(futures, timeout=None):
    """Yields the futures as their jobs end, the first done first.

    Raises TimeoutError if timeout (seconds) passes first.
    """
    return future_as_completed(futures, timeout)
