"""The worker's CPU pool: plain-`def` jobs in other processes.

Each process is a ProcessPoolExecutor of one worker (started through a
fork server that has imported the job modules once), so that a job that
times out, is cancelled or crashes its process costs that process only:
it is killed and a new executor takes its place. Jobs wait in a queue
here until a process is free (the worker's --cpu-prefetch jobs each).

What a job reports while it runs (zjob.progress, zjob.log, its prints)
comes back over a ZeroMQ PUSH socket of its process to a PULL socket here,
ended by an "end" message before its result: so a job's reports always
come before its outcome.
"""

import asyncio
import collections
import concurrent.futures
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
import traceback

import msgpack
import zmq

from zjob import _wire, jobs
from zjob.errors import FailedFinal

#  How long a finished job's "end" report may lag its result.
_END_WAIT_S = 0.5
#  A CPU job reports progress at most this often (and always its last).
_PROGRESS_EVERY_S = 0.1
#  A CPU job's log text leaves its process when this much waits, or at
#  the next report, or at its end.
_LOG_CHUNK = 16 * 1024


class CpuRun:
    """A CPU job in the pool: queued, then running in a slot."""

    def __init__(self, job, kind, on_start=None):
        self.job = job
        self.kind = kind
        self.on_start = on_start
        self.slot = None
        self.ended = asyncio.Event()
        self.stopped = None  #  (state, error) once cancelled or timed out


class _Slot:
    """One process, as an executor of one worker."""

    def __init__(self, pool, index):
        self.index = index
        self.run = None
        self.executor = None
        self.process = None
        self.pool = pool
        self.renew()

    def renew(self):
        """A new executor (and process) in place of the one there was."""
        if self.executor:
            self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=1,
            mp_context=self.pool.context,
            initializer=_child_init,
            initargs=(self.pool.endpoint, self.pool.modules, os.getpid()),
        )
        self.process = None

    def kill(self):
        """Kills the process (a stopped job's) and renews the slot."""
        process = self.process or _process_of(self.executor)
        if process is not None and process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
        self.renew()


def _process_of(executor):
    processes = list((getattr(executor, "_processes", None) or {}).values())
    return processes[0] if processes else None


class CpuPool:
    """procs processes running the CPU kinds of modules.

    on_report(job_id, attempt, what, payload) gets progress ("progress",
    (done, total, text)) and log text ("log", text); on_outcome(run,
    state, result_text, error, no_retry) each job's end, unless it was
    stopped (stop() reported it).
    """

    def __init__(self, procs, modules, side_dir, on_report, on_outcome):
        self.modules = list(modules)
        self.on_report = on_report
        self.on_outcome = on_outcome
        self.queue = collections.deque()
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(self.modules)
        self.endpoint = f"ipc://{side_dir}/cpu-{os.getpid()}.sock"
        self.zmq = zmq.Context()
        self.pull = self.zmq.socket(zmq.PULL)
        self.pull.setsockopt(zmq.LINGER, 0)
        self.pull.bind(self.endpoint)
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(self.pull.getsockopt(zmq.FD), self.read_reports)
        self.ends = {}
        self.slots = [_Slot(self, index) for index in range(procs)]
        for slot in self.slots:
            slot.executor.submit(_child_ready)

    def __len__(self):
        return len(self.slots)

    def close(self):
        self.loop.remove_reader(self.pull.getsockopt(zmq.FD))
        for slot in self.slots:
            if slot.run:
                slot.kill()
            slot.executor.shutdown(wait=False, cancel_futures=True)
        self.pull.close(0)
        self.zmq.term()

    def start(self, run):
        self.queue.append(run)
        self.pump()

    def pump(self):
        """Starts queued jobs on the free processes."""
        for slot in self.slots:
            if not self.queue:
                return
            if slot.run is None:
                self._start_on(slot, self.queue.popleft())

    def _start_on(self, slot, run):
        job = run.job
        slot.run = run
        run.slot = slot
        future = slot.executor.submit(
            _child_run, run.kind, job.get("args"), job["id"], job.get("attempts", 0)
        )
        slot.process = slot.process or _process_of(slot.executor)
        if run.on_start:
            run.on_start()
        future.add_done_callback(
            lambda done: self.loop.call_soon_threadsafe(self._ended, slot, run, done)
        )

    def stop(self, run):
        """Stops run (queued or running); its process, if any, is killed."""
        if run.slot is None:
            try:
                self.queue.remove(run)
            except ValueError:
                pass
            return
        slot, run.slot = run.slot, None
        slot.run = None
        slot.kill()
        self.pump()

    def _ended(self, slot, run, future):
        if run.slot is not slot:  #  Stopped: its end was reported then
            return
        self.loop.create_task(self._finish(slot, run, future))

    async def _finish(self, slot, run, future):
        crashed = isinstance(future.exception(), concurrent.futures.process.BrokenProcessPool)
        if crashed:
            #  The executor's own thread reaps the process, reading its
            #  status once from the fork server: read it only after that
            #  thread is done, or both read and one gets none (255).
            process = slot.process or _process_of(slot.executor)
            await asyncio.to_thread(slot.executor.shutdown, wait=True)
        else:
            self.read_reports()
            try:
                await asyncio.wait_for(run.ended.wait(), _END_WAIT_S)
            except asyncio.TimeoutError:
                pass
        if run.slot is not slot:  #  Stopped meanwhile: reported then
            return
        run.slot = None
        slot.run = None
        if crashed:
            slot.renew()
            self.on_outcome(run, "failed", None, _crash_text(process), False)
        else:
            self.on_outcome(run, *_outcome(future))
        self.pump()

    def read_reports(self):
        """Reads every report waiting on the PULL socket."""
        while self.pull.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            try:
                message = msgpack.unpackb(self.pull.recv(zmq.NOBLOCK), raw=False)
                what, job_id, attempt, payload = message
            except (zmq.Again, ValueError, TypeError, msgpack.UnpackException):
                continue
            if what == "end":
                self._note_end(job_id, attempt)
            else:
                self.on_report(job_id, attempt, what, payload)

    def _note_end(self, job_id, attempt):
        for slot in self.slots:
            run = slot.run
            if run and run.job["id"] == job_id and run.job.get("attempts", 0) == attempt:
                run.ended.set()


def _outcome(future):
    """(state, result text, error, no_retry) of a process's return."""
    error = future.exception()
    if error is not None:
        return "failed", None, jobs.describe(error), False
    what, text = future.result()
    if what == "ok":
        return "succeeded", text, None, False
    return "failed", None, text, what == "final"


def _crash_text(process):
    code = process.exitcode if process is not None else None
    if process is not None and code is None:
        process.join(1)
        code = process.exitcode
    if code is None:
        return "process crashed"
    if code < 0:
        number = -code
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"process crashed: killed by signal {name} ({signal.strsignal(number)})"
    return f"process exited with status {code}"


#  --- In the pool's processes

_push = None


def _child_init(endpoint, modules, worker_pid):
    """Each process: the report socket, the job modules imported, and a
    watch on the worker that ends this process when the worker ends."""
    global _push
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(worker_pid,), daemon=True).start()
    for module in modules:
        __import__(module)
    context = zmq.Context()
    _push = context.socket(zmq.PUSH)
    _push.setsockopt(zmq.LINGER, 1000)
    _push.connect(endpoint)


def _exit_with(pid):
    """Waits for process pid to end, then exits: a worker killed by
    SIGKILL leaves no pool process behind (each holds the pipes that
    would tell the others and the fork server)."""
    try:
        handle = os.pidfd_open(pid)
        select.select([handle], [], [])
    except OSError:
        pass
    os._exit(0)


def _child_ready():
    return os.getpid()


def _send(what, job_id, attempt, payload):
    _push.send(msgpack.packb([what, job_id, attempt, payload], use_bin_type=True))


class _CpuJob(jobs.JobInfo):
    """A CPU job's context in its process: reports over the PUSH socket."""

    def __init__(self, job_id, kind, attempt):
        super().__init__(job_id, kind, attempt)
        self.text = []
        self.size = 0
        self.last_progress = 0.0
        self.waiting = None

    def _progress(self, done, total, text):
        self.waiting = (done, total, text)
        now = time.monotonic()
        if now - self.last_progress >= _PROGRESS_EVERY_S or (total and done >= total):
            self.flush()

    def _log(self, text):
        self.text.append(text)
        self.size += len(text)
        if self.size >= _LOG_CHUNK:
            self.flush()

    def flush(self):
        if self.text:
            _send("log", self.id, self.attempt, "".join(self.text))
            self.text, self.size = [], 0
        if self.waiting:
            _send("progress", self.id, self.attempt, list(self.waiting))
            self.waiting = None
            self.last_progress = time.monotonic()


class _Printed:
    """sys.stdout and sys.stderr of a CPU job: into its log."""

    def __init__(self, job):
        self.job = job

    def write(self, text):
        self.job._log(text)
        return len(text)

    def flush(self):
        pass


def _child_run(kind_name, args_text, job_id, attempt):
    """Runs one job; returns ("ok", result JSON) or ("error"|"final", why)."""
    kind = jobs.kinds().get(kind_name)
    context = _CpuJob(job_id, kind_name, attempt)
    token = jobs._current.set(context)
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = _Printed(context)
    try:
        if kind is None:
            return "final", f"unknown job kind '{kind_name}' on this worker"
        value = jobs.call(kind, _wire.from_json(args_text))
    except FailedFinal as error:
        return "final", jobs.describe(error)
    except Exception as error:  # noqa: BLE001 - the job's own failure
        context._log("".join(traceback.format_exception(error)))
        return "error", jobs.describe(error)
    else:
        try:
            return "ok", _wire.to_json(value, _wire.MAX_RESULT)
        except (ValueError, TypeError) as error:
            return "final", f"result is not JSON: {error}"
    finally:
        sys.stdout, sys.stderr = saved
        jobs._current.reset(token)
        context.flush()
        _send("end", job_id, attempt, None)

