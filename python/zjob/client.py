"""zjob.Client: submit jobs to a coordinator and await them, with asyncio.

One Client is one ZeroMQ DEALER connection to the coordinator's clients
endpoint (proto/PROTOCOL.md). Every call shares it: requests are numbered
(`req`, from 1) and one reader task hands each reply to its request, so
any number of coroutines may submit, query and await at once.

Awaiting is lazy and batched. A zjob.Future asks its client to watch its
job the first time somebody waits for it; the ids watched in one loop turn
go out together in one AWAIT (as completed, up to 10,000 ids), and each
RESOLVED settles its futures. So `asyncio.gather(*futures)` over 20,000
jobs costs two AWAITs, not 20,000.

The coordinator keeps awaits in memory only and forgets them when it
restarts; a link that drops loses requests and replies in flight. A socket
monitor sees the link drop (DISCONNECTED) and come back
(HANDSHAKE_SUCCEEDED); the client then sends again every AWAIT still open
(for the ids not settled yet) and every request still without its reply,
under new `req` numbers. A SUBMIT goes again with its `token`, so its jobs
are made once. Futures so wait for ever, across restarts; a request that
gets no reply within reply_timeout raises zjob.errors.Unreachable.
"""

import asyncio
import itertools
import logging
import os
import re
import secrets

import zmq
import zmq.asyncio
from zmq.utils.monitor import parse_monitor_message

from zjob import _keys, _wire
from zjob.errors import Error, Unreachable
from zjob.future import Future, as_completed

DEFAULT_ENDPOINT = "tcp://127.0.0.1:7700"
SUBMIT_BATCH = 1000  # Jobs per SUBMIT, as libzjob sends them
SUBMIT_WINDOW = 8  # SUBMITs of one submit_many in flight at once
SUBMIT_BYTES = 16 * 1024 * 1024  # Args in one SUBMIT: half a frame at most
HEARTBEAT_MS = 2000  # ZMTP ping period, as libzjob sets it
HEARTBEAT_TIMEOUT_MS = 6000  # Silence after which the link is dead
_MONITOR_EVENTS = (
    zmq.EVENT_DISCONNECTED
    | zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)
_NO_SUCH_JOB = re.compile(r"no such job (\d+)")
_logger = logging.getLogger("zjob.client")

#  Tokens: 32 random hex digits per process, then the call's number in 16
#  hex digits, then the batch's number, as libzjob makes them, so that a
#  SUBMIT sent again is recognised and tokens of one process ascend.
_PROCESS = {"pid": None, "hex": "", "calls": itertools.count(1)}


def _new_token_base():
    """'<process>-<call>' for one submit call; a fork draws again."""
    if _PROCESS["pid"] != os.getpid():
        _PROCESS.update(pid=os.getpid(), hex=secrets.token_hex(16),
                        calls=itertools.count(1))
    return f"{_PROCESS['hex']}-{next(_PROCESS['calls']):016x}"


def _job_id(job):
    """A job id from an int or a Future; ValueError for anything else."""
    job_id = job.id if isinstance(job, Future) else job
    if isinstance(job_id, bool) or not isinstance(job_id, int) or job_id <= 0:
        raise ValueError(f"{job!r} is not a job id")
    return job_id


def _batches(jobs):
    """Cuts jobs into SUBMITs of at most SUBMIT_BATCH jobs and about
    SUBMIT_BYTES of args, so that no frame nears the 32 MiB ceiling."""
    batch, size = [], 0
    for job in jobs:
        cost = len(job.get("args") or "") * 2 + 256  # Bytes, at most, plus fields
        if batch and (len(batch) == SUBMIT_BATCH or size + cost > SUBMIT_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(job)
        size += cost
    if batch:
        yield batch


class _Call:
    """One immediate request (SUBMIT, STATUS, LIST, WORKERS, CANCEL, LOGS)
    waiting for its reply, which may come in parts (`more`)."""

    def __init__(self, type_, fields, loop):
        self.type = type_
        self.fields = fields
        self.reply = loop.create_future()
        self.parts = []
        self.req = 0
        self.timer = None

    @property
    def open(self):
        return not self.reply.done()

    def frame(self):
        return _wire.encode(self.type, req=self.req, **self.fields)

    def take(self, msg):
        """Handles one reply frame; True when the request is over."""
        if msg["t"] == "ERROR":
            self.fail(Error(msg.get("code", 0), msg.get("reason", "")))
            return True
        if msg["t"] != self.type and not (self.type == "SUBMIT" and msg["t"] == "SUBMITTED"):
            self.fail(Error("EPROTO", f"expected a reply to {self.type}, got {msg['t']}"))
            return True
        self.parts.append(msg)
        if msg.get("more"):
            return False
        self.reply.set_result(self.parts)
        return True

    def fail(self, error):
        if not self.reply.done():
            self.reply.set_exception(error)

    def restart(self):
        """Forgets parts of a reply that will not finish (the link broke)."""
        self.parts = []


class _Await:
    """One AWAIT in flight: the ids it still waits for."""

    def __init__(self, ids):
        self.ids = set(ids)
        self.order = list(ids)
        self.req = 0
        self.open = True

    def frame(self):
        return _wire.encode("AWAIT", req=self.req, ids=self.order)


class Client:
    """A connection to a zjob coordinator; use `async with Client() as c`.

    endpoint defaults to env ZJOB_COORDINATOR, else tcp://127.0.0.1:7700;
    key (our NAME.key_secret) and coordinator_key (its NAME.key) to
    ZJOB_KEY and ZJOB_COORDINATOR_KEY, for CURVE. reply_timeout (seconds)
    bounds the wait for each request's reply: past it, Unreachable.
    """

    def __init__(self, endpoint=None, key=None, coordinator_key=None, *,
                 reply_timeout=10.0):
        self.endpoint = endpoint or os.environ.get("ZJOB_COORDINATOR") or DEFAULT_ENDPOINT
        self.key = key if key is not None else os.environ.get("ZJOB_KEY")
        self.coordinator_key = (coordinator_key if coordinator_key is not None
                                else os.environ.get("ZJOB_COORDINATOR_KEY"))
        if not reply_timeout or reply_timeout <= 0:
            raise ValueError("reply_timeout must be > 0 seconds")
        self.reply_timeout = reply_timeout
        self._context = None
        self._sock = None
        self._monitor = None
        self._loop = None
        self._tasks = []
        self._last_req = 0
        self._pending = {}  # req -> _Call or _Await
        self._outbox = []  # requests to send, in order
        self._wake = None  # set when the outbox has something
        self._watching = {}  # job id -> [Future]
        self._awaiting = {}  # job id -> its open _Await
        self._to_await = {}  # job ids to put in the next AWAIT (ordered)
        self._flush_handle = None
        self._link_up = False
        self._link_lost = False
        self._link_note = "no connection made yet"
        self._closed = False

    #  -- opening and closing ---------------------------------------------

    async def __aenter__(self):
        await self.open()
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def open(self):
        """Makes the socket and its monitor, connects, starts the tasks."""
        if self._sock is not None:
            return self
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._context = zmq.asyncio.Context()
        try:
            self._sock = self._make_socket()
            self._sock.connect(self.endpoint)
        except zmq.ZMQError as error:
            self._context.destroy(linger=0)
            self._sock = None
            raise Error("EUSAGE", f"cannot connect to {self.endpoint}: {error}") from None
        except Error:
            self._context.destroy(linger=0)
            self._sock = None
            raise
        self._tasks = [
            asyncio.ensure_future(self._read_loop()),
            asyncio.ensure_future(self._send_loop()),
            asyncio.ensure_future(self._monitor_loop()),
        ]
        return self

    def _make_socket(self):
        """A DEALER set up as libzjob sets its own, with a monitor.

        IMMEDIATE: nothing is queued for a link that is not up, so a
        request that timed out is never delivered later; the send loop
        waits for the link instead.
        """
        sock = self._context.socket(zmq.DEALER)
        sock.sndhwm = 0
        sock.rcvhwm = 0
        sock.linger = 0
        sock.immediate = 1
        sock.maxmsgsize = _wire.MAX_FRAME
        sock.heartbeat_ivl = HEARTBEAT_MS
        sock.heartbeat_timeout = HEARTBEAT_TIMEOUT_MS
        _keys.configure(sock, self.key, self.coordinator_key)
        self._monitor = sock.get_monitor_socket(_MONITOR_EVENTS)
        return sock

    async def close(self):
        """Stops the tasks, cancels local waiting, closes the socket.

        Jobs go on in the coordinator; futures still waiting here are
        cancelled, requests still waiting fail with ECANCELLED.
        """
        if self._closed or self._sock is None:
            self._closed = True
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._flush_handle:
            self._flush_handle.cancel()
        for request in list(self._pending.values()) + self._outbox:
            if isinstance(request, _Call):
                request.fail(Error("ECANCELLED", "the client was closed"))
        for futures in self._watching.values():
            for future in futures:
                future.cancel()
        self._pending.clear()
        self._outbox.clear()
        self._watching.clear()
        self._awaiting.clear()
        self._to_await.clear()
        try:
            self._sock.disable_monitor()
        except zmq.ZMQError:
            pass
        self._monitor.close(linger=0)
        self._sock.close(linger=0)
        self._context.term()

    def _check_open(self):
        if self._sock is None or self._closed:
            raise Error("EUSAGE", "the client is not open: use `async with Client()`")

    #  -- sending ---------------------------------------------------------

    def _post(self, request):
        """Numbers request with a new req and queues it for sending."""
        self._last_req += 1
        request.req = self._last_req
        self._pending[request.req] = request
        self._outbox.append(request)
        self._wake.set()

    async def _send_loop(self):
        """Sends the outbox in order whenever the link can take it."""
        while True:
            if not self._outbox:
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._sock.poll(None, zmq.POLLOUT)
            self._send_ready()

    def _send_ready(self):
        """Sends queued requests until the socket would block."""
        while self._outbox:
            request = self._outbox[0]
            if request.open and self._pending.get(request.req) is request:
                try:
                    self._sock.send(request.frame(), zmq.DONTWAIT).result()
                except zmq.Again:
                    return
            self._outbox.pop(0)

    async def _call(self, type_, **fields):
        """Sends one immediate request; returns the list of its reply's
        parts. Raises Error for an ERROR, Unreachable past reply_timeout."""
        self._check_open()
        call = _Call(type_, fields, self._loop)
        self._post(call)
        self._arm(call)
        try:
            return await call.reply
        finally:
            if call.timer:
                call.timer.cancel()
            self._pending.pop(call.req, None)

    def _arm(self, call):
        """(Re)starts the reply timer of call."""
        if call.timer:
            call.timer.cancel()
        call.timer = self._loop.call_later(self.reply_timeout, self._expire, call)

    def _expire(self, call):
        if call.open:
            self._pending.pop(call.req, None)
            state = "the link is up" if self._link_up else self._link_note
            call.fail(Unreachable(
                f"no reply from coordinator at {self.endpoint} within "
                f"{self.reply_timeout:g} s ({state})"))

    #  -- receiving -------------------------------------------------------

    async def _read_loop(self):
        """Reads every reply and hands it to its request by req."""
        while True:
            frames = await self._sock.recv_multipart()
            if len(frames) != 1:
                _logger.warning("dropped a reply of %d frames", len(frames))
                continue
            try:
                msg = _wire.decode(frames[0])
            except _wire.ProtocolError as error:
                _logger.warning("dropped an unreadable reply: %s", error.reason)
                continue
            try:
                self._dispatch(msg)
            except Exception:  # noqa: BLE001 - one bad reply must not stop the rest
                _logger.exception("reply %s req=%s not handled", msg["t"], msg.get("req"))

    def _dispatch(self, msg):
        """Hands one reply to its request; a stale or unknown req is dropped."""
        request = self._pending.get(msg.get("req", 0))
        if isinstance(request, _Call):
            if request.take(msg):
                self._pending.pop(request.req, None)
            else:
                self._arm(request)  # a part: the coordinator is alive
        elif isinstance(request, _Await):
            self._await_reply(request, msg)
        elif msg["t"] == "ERROR":
            _logger.debug("ERROR req=%s: %s", msg.get("req"), msg.get("reason"))

    async def _monitor_loop(self):
        """Follows the link; sends everything open again once it is back."""
        while True:
            event = parse_monitor_message(await self._monitor.recv_multipart())
            kind = event["event"]
            if kind == zmq.EVENT_DISCONNECTED:
                if self._link_up:  # Else keep why the handshake failed
                    self._link_note = "the connection was lost"
                self._link_up = False
                self._link_lost = True
            elif kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self._link_up = True
                if self._link_lost:
                    self._link_lost = False
                    self._relink()
            elif not self._link_up:
                self._link_note = (
                    "the coordinator refused our CURVE key"
                    if kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH
                    else "the handshake failed (CURVE keys?)")

    def _relink(self):
        """The link came back: the coordinator may have lost every request
        and AWAIT in flight. Sends them again under new req numbers; a
        late reply to an old number is then dropped."""
        requests = sorted(self._pending.values(), key=lambda request: request.req)
        self._pending.clear()
        self._outbox.clear()
        for request in requests:
            if isinstance(request, _Await):
                request.open = False
                for job_id in request.order:
                    if job_id in request.ids and self._awaiting.get(job_id) is request:
                        del self._awaiting[job_id]
                        self._to_await[job_id] = None
            elif request.open:
                request.restart()
                self._post(request)
                self._arm(request)
        self._schedule_flush()

    #  -- awaiting --------------------------------------------------------

    def _watch(self, future):
        """Called by a Future the first time somebody waits for it."""
        if self._sock is None or self._closed:
            future.set_exception(Error("EUSAGE", "the client is closed"))
            return
        self._watching.setdefault(future.id, []).append(future)
        if future.id not in self._awaiting:
            self._to_await[future.id] = None
            self._schedule_flush()

    def _schedule_flush(self):
        if self._to_await and self._flush_handle is None:
            self._flush_handle = self._loop.call_soon(self._flush_awaits)

    def _flush_awaits(self):
        """Sends the ids watched this loop turn in AWAITs of 10,000 ids."""
        self._flush_handle = None
        ids = [job_id for job_id in self._to_await if job_id not in self._awaiting
               and job_id in self._watching]
        self._to_await.clear()
        for start in range(0, len(ids), _wire.MAX_BATCH):
            self._send_await(ids[start:start + _wire.MAX_BATCH])

    def _send_await(self, ids):
        request = _Await(ids)
        for job_id in ids:
            self._awaiting[job_id] = request
        self._post(request)

    def _await_reply(self, request, msg):
        """RESOLVED settles futures; DONE ends the AWAIT; ERROR fails it."""
        if msg["t"] == "RESOLVED":
            for record in msg.get("jobs", ()):
                self._resolve(request, record)
        elif msg["t"] == "DONE":
            self._end_await(request)
            for job_id in request.order:  # Not resolved: ask again
                if job_id in request.ids and job_id in self._watching:
                    self._to_await[job_id] = None
            self._schedule_flush()
        elif msg["t"] == "ERROR":
            self._end_await(request)
            self._await_error(request, msg)

    def _resolve(self, request, record):
        job_id = record.get("id", 0)
        if job_id not in request.ids:
            return
        request.ids.discard(job_id)
        if self._awaiting.get(job_id) is request:
            del self._awaiting[job_id]
        for future in self._watching.pop(job_id, ()):
            future._settle(record)

    def _end_await(self, request):
        request.open = False
        self._pending.pop(request.req, None)
        for job_id in request.ids:
            if self._awaiting.get(job_id) is request:
                del self._awaiting[job_id]

    def _await_error(self, request, msg):
        """One unknown id fails a whole AWAIT: fail only that id's futures
        and ask again for the others (halves, if the reason names none)."""
        error = Error(msg.get("code", 0), msg.get("reason", ""))
        left = [job_id for job_id in request.order if job_id in request.ids]
        if error.code != "ENOTFOUND":
            for job_id in left:
                self._fail(job_id, error)
            return
        found = _NO_SUCH_JOB.search(error.reason)
        bad = int(found.group(1)) if found else 0
        if bad in request.ids or len(left) == 1:
            bad = bad if bad in request.ids else left[0]
            self._fail(bad, error)
            groups = [[job_id for job_id in left if job_id != bad]]
        else:
            half = len(left) // 2
            groups = [left[:half], left[half:]]
        for group in groups:
            group = [job_id for job_id in group if job_id in self._watching]
            if group:
                self._send_await(group)

    def _fail(self, job_id, error):
        for future in self._watching.pop(job_id, ()):
            if not future.done():
                future.set_exception(error)

    def future(self, job_id):
        """A Future for an existing job (to await a job made elsewhere)."""
        self._check_open()
        return Future(_job_id(job_id), self)

    def as_completed(self, futures, timeout=None):
        """Yields the futures as their jobs finish; raises TimeoutError
        once timeout seconds passed, after yielding those done by then."""
        return as_completed(futures, timeout)

    #  -- submitting ------------------------------------------------------

    async def submit(self, kind, args=None, *, timeout=None, retries=0,
                     backoff=None, priority=0, delay=None, after=None,
                     unique=None, unique_for=None):
        """Submits one job; returns its Future once the job is stored.

        timeout, backoff and delay are seconds; retries is how many times a
        failed attempt runs again; after lists ids or Futures that must
        succeed first. unique is a key: while a job submitted with it is
        in its window (unique_for seconds, default 24 h), the Future is
        that job's and nothing is made. Bad args raise ValueError/TypeError
        before sending.
        """
        job = _wire.job_map(kind, args, timeout=timeout, retries=retries,
                       backoff=backoff, priority=priority, delay=delay,
                       after=after, unique=unique, unique_for=unique_for)
        return (await self._submit_batch([job], f"{_new_token_base()}-0"))[0]

    async def submit_many(self, specs):
        """Submits many jobs (dicts of submit's keywords, or (kind, args)
        tuples) in SUBMITs of 1000, 8 in flight; returns their Futures in
        order. Every spec is checked before anything is sent."""
        jobs = [_wire.spec_map(spec) for spec in specs]
        base = _new_token_base()
        window = asyncio.Semaphore(SUBMIT_WINDOW)

        async def one(number, batch):
            async with window:
                return await self._submit_batch(batch, f"{base}-{number}")

        tasks = [
            asyncio.ensure_future(one(number, batch))
            for number, batch in enumerate(_batches(jobs))
        ]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        failed = [result for result in results if isinstance(result, BaseException)]
        if failed:
            for result in results:  # Made, but the caller never gets them
                if not isinstance(result, BaseException):
                    for future in result:
                        future._forget()
            raise failed[0]
        return [future for batch in results for future in batch]

    async def _submit_batch(self, jobs, token):
        """One SUBMIT of jobs (maps) with its token; their Futures."""
        parts = await self._call("SUBMIT", token=token, jobs=jobs)
        ids = parts[-1].get("ids", [])
        if len(ids) != len(jobs):
            raise Error("EPROTO", f"SUBMITTED {len(ids)} ids for {len(jobs)} jobs")
        return [Future(job_id, self, job["kind"]) for job_id, job in zip(ids, jobs)]

    #  -- queries ---------------------------------------------------------

    async def cancel(self, job):
        """Cancels a job (an id or a Future); returns the CANCEL entry
        (id, state, error). A finished job is left as it is."""
        parts = await self._call("CANCEL", ids=[_job_id(job)])
        jobs = [entry for part in parts for entry in part.get("jobs", ())]
        if not jobs:
            raise Error("EPROTO", "CANCEL reply without its job")
        return jobs[0]

    async def status(self, job):
        """The full record (a dict) of a job, an id or a Future; a list of
        records for a list of them."""
        many = isinstance(job, (list, tuple))
        ids = [_job_id(one) for one in job] if many else [_job_id(job)]
        records = []
        for start in range(0, len(ids), _wire.MAX_BATCH):
            parts = await self._call("STATUS", ids=ids[start:start + _wire.MAX_BATCH])
            records.extend(record for part in parts for record in part.get("jobs", ()))
        if many:
            return records
        if not records:
            raise Error("EPROTO", "STATUS reply without its job")
        return records[0]

    async def jobs(self, state=None, limit=0, parent=None):
        """Job records, newest first (LIST): only in state, only children
        of parent; limit 0 is the coordinator's default (100)."""
        if state is not None and state not in _wire.STATES:
            raise ValueError(f"state is one of {', '.join(_wire.STATES)}")
        parts = await self._call("LIST", state=state, limit=limit,
                                 parent=None if parent is None else _job_id(parent))
        return [record for part in parts for record in part.get("jobs", ())]

    async def workers(self, forget=False):
        """The workers the coordinator knows, as dicts (WORKERS); with
        forget, once it has deleted those not connected from its store."""
        parts = await self._call("WORKERS", forget=forget)
        return [worker for part in parts for worker in part.get("workers", ())]

    async def drain(self, name):
        """Asks the coordinator to send worker name no more jobs and to
        tell it to drain (finish its jobs, then stop); the worker as told.
        zjob.Error ENOTFOUND if no connected worker has that name."""
        parts = await self._call("DRAIN", workers=[{"name": name}])
        return [worker for part in parts for worker in part.get("workers", ())][0]

    async def purge(self, older_than, state=None, kind=None):
        """Asks the coordinator to delete the final jobs that finished more
        than older_than seconds ago, only in state ("succeeded", "failed" or
        "cancelled") and of kind when given (zjob purge); returns how many
        it deleted. It answers in parts while it works, so a big purge
        outlasts reply_timeout."""
        if state is not None and state not in ("succeeded", "failed", "cancelled"):
            raise ValueError(f"state {state!r} is not a final state")
        fields = {"older_than_ms": _wire._ms(older_than, "older_than")}
        if state is not None:
            fields["state"] = state
        if kind is not None:
            fields["kind"] = kind
        parts = await self._call("PURGE", **fields)
        return sum(part.get("count", 0) for part in parts)
    async def limit(self, kind, concurrency=None, rate=None, clear=False):
        """Sets kind's limits across all workers (zjob limit), kept in the
        coordinator's store: concurrency (0 pauses the kind) and rate (jobs
        started per second) replace those given and keep the other;
        clear=True removes both first. Returns the kind's limits after, as
        a dict (kind, concurrency, rate, burst, running, updated_at; a
        limit absent is none). ValueError for a bad kind or value."""
        _wire.check_kind(kind)
        entry = {"kind": kind}
        if concurrency is not None:
            if type(concurrency) is not int or not (
                    0 <= concurrency <= _wire.MAX_CONCURRENCY):
                raise ValueError(
                    f"concurrency is an integer 0..{_wire.MAX_CONCURRENCY}")
            entry["concurrency"] = concurrency
        if rate is not None:
            if type(rate) not in (int, float) or not (
                    _wire.MIN_RATE <= rate <= _wire.MAX_RATE):
                raise ValueError("rate is jobs per second, from one a day "
                                 f"to {_wire.MAX_RATE:g}")
            entry["rate"] = float(rate)
        parts = await self._call("LIMIT", limits=[entry], clear=clear)
        return [limit for part in parts for limit in part.get("limits", ())][0]

    async def limits(self):
        """Every kind with a limit, by name, as dicts (see limit)."""
        parts = await self._call("LIMITS")
        return [limit for part in parts for limit in part.get("limits", ())]

    async def logs(self, job):
        """The text a job's attempts wrote (LOGS)."""
        parts = await self._call("LOGS", ids=[_job_id(job)])
        jobs = [entry for part in parts for entry in part.get("jobs", ())]
        return jobs[0].get("log", "") if jobs else ""
