"""python3 -m zjob.worker: a zjob worker for the kinds of Python modules.

    python3 -m zjob.worker --connect tcp://HOST:7701 tasks

imports the modules, and runs the functions they registered with
@zjob.job: an `async def` as a task on this process's asyncio loop (an I/O
job), a plain `def` in a process of its pool (a CPU job). It speaks the
worker protocol of proto/PROTOCOL.md, as zjob-worker does: HELLO with its
kinds and slots, heartbeats, results kept until acknowledged and sent
again after a reconnect, cancels and timeouts, sub-jobs, progress and
logs, and a drain on SIGTERM.
"""

import argparse
import asyncio
import os
import re
import signal
import socket as socketlib
import sys
import tempfile
import time
import traceback

import zmq

import zjob
from zjob import _keys, _log, _wire, jobs
from zjob._children import Calls, Parent
from zjob._cpu import CpuPool, CpuRun
from zjob._results import Results
from zjob._watchdog import Watchdog
from zjob.errors import Error, FailedFinal

DEFAULT_ENDPOINT = "tcp://127.0.0.1:7701"
LIVENESS = 3
EXIT_NAME_HELD = 4
_NAME_RETRY_SLACK_S = 0.2
_PROGRESS_EVERY_S = 0.2
_LOG_ENTRY = 16 * 1024
_LOG_MESSAGE = 48 * 1024
_LOG_FULL = "\n[zjob: --max-log reached; the rest of this attempt's output was dropped]\n"
_TASK_NAME = re.compile(r"name='zjob job (\d+) ([^']+)'")


class Running:
    """A job this worker runs: its JOBS map, kind, class and how it ends."""

    def __init__(self, job, kind):
        self.job = job
        self.id = job["id"]
        self.attempt = job.get("attempts", 0)
        self.kind = kind
        self.started_at = time.time()
        self.task = None
        self.cpu = None
        self.parent = None
        self.timer = None
        self.ended = False


class IoJob(jobs.JobInfo):
    """The context of a running I/O job: what zjob.progress, zjob.log
    and zjob.submit reach from its task."""

    def __init__(self, worker, run):
        super().__init__(run.id, run.kind.name, run.attempt)
        self.worker = worker
        self.run = run

    def _progress(self, done, total, text):
        self.worker.report(self.run.id, self.run.attempt, "progress", (done, total, text))

    def _log(self, text):
        self.worker.report(self.run.id, self.run.attempt, "log", text)

    async def _submit(self, maps):
        if self.run.ended:
            raise Error("ESTATE", f"job {self.run.id} has ended")
        if self.run.parent is None:
            self.run.parent = Parent(self.worker.calls, self.run.id, self.run.attempt)
        return await self.run.parent.spawn(maps)


class _Stdout:
    """sys.stdout while the worker runs: what an I/O job prints goes to
    its log; anything else to the real stdout."""

    def __init__(self, real):
        self.real = real

    def write(self, text):
        context = jobs._current.get()
        if isinstance(context, IoJob):
            context._log(text)
            return len(text)
        return self.real.write(text)

    def flush(self):
        self.real.flush()

    def __getattr__(self, name):
        return getattr(self.real, name)


class _Logs:
    """Each running job's text of this loop turn, within --max-log."""

    def __init__(self, max_log):
        self.max_log = max_log
        self.written = {}  #  id -> (attempt, bytes so far)
        self.pending = {}  #  id -> (attempt, [text])

    def add(self, job_id, attempt, text):
        seen, size = self.written.get(job_id, (attempt, 0))
        if seen != attempt:
            size = 0
        if size >= self.max_log:
            return
        if size == 0 and attempt > 1:
            text = f"--- attempt {attempt} ---\n{text}"
        room = self.max_log - size
        if len(text.encode("utf-8")) > room:
            text = text.encode("utf-8")[:room].decode("utf-8", "ignore") + _LOG_FULL
            size = self.max_log
        else:
            size += len(text.encode("utf-8"))
        self.written[job_id] = (attempt, size)
        self.pending.setdefault(job_id, (attempt, []))[1].append(text)

    def end(self, job_id):
        self.written.pop(job_id, None)

    def frames(self):
        """LOG messages of the pending text: 16 KiB entries, ~48 KiB each."""
        entries = []
        for job_id, (attempt, parts) in self.pending.items():
            data = "".join(parts).encode("utf-8")
            for start in range(0, len(data), _LOG_ENTRY):
                piece = data[start:start + _LOG_ENTRY].decode("utf-8", "replace")
                entries.append({"id": job_id, "attempts": attempt, "log": piece})
        self.pending = {}
        frames, batch, size = [], [], 0
        for entry in entries:
            batch.append(entry)
            size += len(entry["log"])
            if size >= _LOG_MESSAGE:
                frames.append(_wire.encode("LOG", jobs=batch))
                batch, size = [], 0
        if batch:
            frames.append(_wire.encode("LOG", jobs=batch))
        return frames


class Worker:
    """The worker's loop: the coordinator's socket, its jobs, their ends."""

    def __init__(self, config, kinds):
        self.config = config
        self.kinds = kinds
        self.name = config.name or f"{socketlib.gethostname()}-{os.getpid()}"
        self.loop = asyncio.get_running_loop()
        self.context = zmq.Context()
        self.socket = None
        self.welcomed = False
        self.heartbeat_s = 1.0
        self.last_heard = time.monotonic()
        self.last_hello = 0.0
        self.name_retried = False
        self.name_retry = None
        self.running = {}
        self.results = Results()
        self.calls = Calls(self.send, config.max_suspended)
        self.logs = _Logs(config.max_log)
        self.progress = {}
        self.progress_sent = 0.0
        self.progress_timer = None
        self.flush_due = False
        self.draining = False
        self.blocked_ms = 0  # Held past --block-threshold, in all
        self.stopped = asyncio.Event()
        self.exit_code = 0
        self.side_dir = tempfile.mkdtemp(prefix="zjob-worker.")
        self.pool = None
        self.cpu_kinds = [kind for kind in kinds.values() if kind.klass == "cpu"]

    #  --- Starting and stopping

    async def run(self):
        if self.cpu_kinds and self.config.cpu_procs > 0:
            self.pool = CpuPool(self.config.cpu_procs, self.config.modules,
                                self.side_dir, self.report, self.cpu_outcome)
        self.watch_blocking()
        if self.config.watchdog > 0:
            Watchdog(self.loop, self.config.watchdog)
        self.connect()
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.loop.add_signal_handler(signum, self.on_signal, signum)
        _log.info(f"worker started name={self.name} endpoint={self.config.connect} "
                  f"io_slots={self.config.io_slots} cpu_procs={self.cpu_procs()} "
                  f"kinds={len(self.kinds)}")
        beat = self.loop.create_task(self.beat())
        try:
            await self.stopped.wait()
        finally:
            beat.cancel()
            self.close()
        return self.exit_code

    def close(self):
        for run in list(self.running.values()):
            if run.task:
                run.task.cancel()
        if self.socket is not None:
            if self.welcomed:
                self.send(_wire.encode("BYE"))
            self.loop.remove_reader(self.socket.getsockopt(zmq.FD))
            self.socket.close(linger=1000)
            self.socket = None
        if self.pool:
            self.pool.close()
        self.context.term()
        try:
            os.rmdir(self.side_dir)
        except OSError:
            pass

    def cpu_procs(self):
        return len(self.pool) if self.pool else 0

    def connect(self):
        """A new DEALER to the coordinator, and a HELLO on it."""
        dealer = self.context.socket(zmq.DEALER)
        dealer.setsockopt(zmq.SNDHWM, 0)
        dealer.setsockopt(zmq.RCVHWM, 0)
        dealer.setsockopt(zmq.LINGER, 2000)
        dealer.setsockopt(zmq.MAXMSGSIZE, _wire.MAX_FRAME)
        _keys.configure(dealer, self.config.key, self.config.coordinator_key)
        dealer.connect(self.config.connect)
        self.socket = dealer
        self.loop.add_reader(dealer.getsockopt(zmq.FD), self.drain)
        self.last_heard = time.monotonic()
        self.hello()

    def reconnect(self):
        silent = int((time.monotonic() - self.last_heard) * 1000)
        _log.warning(f"coordinator lost endpoint={self.config.connect} "
                     f"silent_ms={silent} reconnecting")
        self.loop.remove_reader(self.socket.getsockopt(zmq.FD))
        self.socket.close(linger=0)
        self.welcomed = False
        self.calls.welcomed = False
        self.connect()

    def hello(self):
        kinds = {kind.name: kind.klass for kind in self.kinds.values()
                 if kind.klass == "io" or self.pool}
        cpu_slots = self.cpu_procs() * (1 + self.config.cpu_prefetch)
        worker = {"name": self.name, "host": socketlib.gethostname(), "pid": os.getpid(),
                  "io_slots": self.config.io_slots, "cpu_slots": cpu_slots,
                  "max_suspended": self.config.max_suspended, "kinds": kinds}
        self.last_hello = time.monotonic()
        self.send(_wire.encode("HELLO", req=self.results.last_seq, workers=[worker]))

    def on_signal(self, signum):
        name = signal.Signals(signum).name
        if self.draining:
            _log.info(f"stopping now signal={name} running={len(self.running)}")
            self.stopped.set()
            return
        _log.info(f"draining signal={name} running={len(self.running)} "
                  f"grace_ms={int(self.config.grace * 1000)}")
        self.start_drain()

    def on_drain(self, frame):
        """DRAIN from the coordinator (zjob drain): as the first SIGTERM."""
        if self.draining:
            return
        _log.info(f'draining reason="zjob drain" running={len(self.running)} '
                  f"grace_ms={int(self.config.grace * 1000)}")
        self.start_drain()

    def start_drain(self):
        """No more jobs; the running ones finish within the grace; stop."""
        self.draining = True
        self.send(_wire.encode("HEARTBEAT", draining=True))
        self.loop.create_task(self.drain_out(time.monotonic() + self.config.grace))

    async def drain_out(self, deadline):
        """Stops once nothing runs and every result is acknowledged, or at
        the grace's end (the coordinator then takes the jobs back)."""
        while (self.running or self.results.unacked) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        _log.info(f"drained running={len(self.running)} "
                  f"unacked={len(self.results.unacked)}")
        self.stopped.set()

    #  --- The socket

    def send(self, frame):
        if self.socket is None:
            return
        try:
            self.socket.send(frame, zmq.NOBLOCK)
        except zmq.ZMQError as error:
            _log.warning(f'send failed error="{error}"')
        #  A send may take the FD's edge of a message that came meanwhile.
        if self.socket.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            self.loop.call_soon(self.drain)

    def drain(self):
        """Reads every frame waiting (ZMQ_FD is edge-triggered)."""
        while self.socket is not None and self.socket.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            try:
                data = self.socket.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            self.last_heard = time.monotonic()
            try:
                frame = _wire.decode(data)
            except _wire.ProtocolError as error:
                _log.warning(f"message refused from=coordinator "
                             f"code={_wire.NAMES.get(error.code)} reason=\"{error.reason}\"")
                continue
            self.on_message(frame)

    def on_message(self, frame):
        kind = frame["t"]
        if kind in ("SPAWNED", "RESOLVED", "DONE", "ERROR") and self.calls.reply(frame):
            return
        handler = {
            "WELCOME": self.on_welcome,
            "ACK": self.on_ack,
            "JOBS": self.on_jobs,
            "CANCEL": self.on_cancel,
            "ERROR": self.on_error,
            "HEARTBEAT": lambda frame: None,
            "BYE": self.on_bye,
            "DRAIN": self.on_drain,
        }.get(kind)
        if handler is None:
            _log.warning(f"message ignored type={kind}")
            return
        handler(frame)

    def on_welcome(self, frame):
        self.welcomed = True
        self.name_retried = False
        self.heartbeat_s = max(frame.get("heartbeat_ms", 1000), 1) / 1000
        self.results.set_limits(frame.get("max_message", 0), frame.get("max_result", 0))
        _log.info(f"connected endpoint={self.config.connect} name={self.name} "
                  f"heartbeat_ms={int(self.heartbeat_s * 1000)}")
        for batch in self.results.all_frames():
            self.send(batch)
        self.calls.welcomed = True
        self.calls.resend_all()
        self.schedule_flush()

    def on_ack(self, frame):
        for seq in frame.get("ids", []):
            self.results.ack(seq)

    def on_bye(self, frame):
        _log.info("coordinator said BYE; waiting for it to come back")
        self.welcomed = False
        self.calls.welcomed = False

    def on_error(self, frame):
        code = _wire.NAMES.get(frame.get("code"), str(frame.get("code")))
        reason = frame.get("reason", "")
        if code == "EINUSE":
            self.on_name_held(frame)
            return
        _log.warning(f'coordinator error code={code} reason="{reason}"')
        if code == "ETYPE" and self.welcomed:
            self.welcomed = False
            self.calls.welcomed = False
            self.hello()  #  It does not know us: it restarted, or lost us
        elif frame.get("req") and self.results.refused(frame["req"]):
            _log.warning(f"results refused seq={frame['req']} dropped")

    def on_name_held(self, frame):
        """EINUSE: our previous process may hold the name; once more after
        the wait the coordinator gave, then stop."""
        wait = frame.get("timeout_ms", 0)
        if self.name_retried or wait <= 0:
            _log.error(f"cannot join: {frame.get('reason', '')}; "
                       f"stopping (exit {EXIT_NAME_HELD})")
            self.exit_code = EXIT_NAME_HELD
            self.stopped.set()
            return
        delay = wait / 1000 + _NAME_RETRY_SLACK_S
        _log.warning(f"name refused: {frame.get('reason', '')}; "
                     f"saying HELLO again in {int(delay * 1000)} ms")
        self.name_retried = True
        self.name_retry = self.loop.call_later(delay, self.retry_name)

    def retry_name(self):
        self.name_retry = None
        self.last_heard = time.monotonic()
        self.hello()

    async def beat(self):
        """Each period: a HEARTBEAT, a new connection if the coordinator
        went silent, HELLO again while unwelcomed, late batches again."""
        while True:
            await asyncio.sleep(self.heartbeat_s)
            if self.name_retry is not None:
                continue
            now = time.monotonic()
            silence = self.heartbeat_s * LIVENESS
            if now - self.last_heard > silence:
                self.reconnect()
                continue
            if not self.welcomed and now - self.last_hello > silence:
                self.hello()
            self.send(_wire.encode("HEARTBEAT", draining=self.draining,
                                   unacked=len(self.results.unacked),
                                   blocked_ms=self.blocked_ms))
            if self.welcomed:
                for batch in self.results.late_frames(silence):
                    self.send(batch)

    #  --- Jobs

    def on_jobs(self, frame):
        for job in frame.get("jobs", []):
            known = self.running.get(job.get("id"))
            if known is not None:
                _log.info(f"job adopted id={known.id} attempt={job.get('attempts', 0)} "
                          f"was={known.attempt}")
                known.attempt = job.get("attempts", 0)
                known.job["attempts"] = known.attempt
                continue
            self.start(job)

    def start(self, job):
        kind = self.kinds.get(job.get("kind"))
        run = Running(job, kind)
        if kind is None or (kind.klass == "cpu" and self.pool is None):
            self.finish(run, "failed", error=f"unknown job kind '{job.get('kind')}' "
                        "on this worker", no_retry=True, klass="io")
            return
        self.running[run.id] = run
        if kind.klass == "io":
            if job.get("timeout_ms", 0) > 0:
                self.arm_timeout(run)
            run.task = self.loop.create_task(self.run_io(run), name=f"zjob job {run.id} {kind.name}")
            return
        run.cpu = CpuRun(job, kind.name, lambda: self.cpu_started(run))
        self.pool.start(run.cpu)

    def cpu_started(self, run):
        """A CPU job's time counts once a process takes it."""
        run.started_at = time.time()
        if run.job.get("timeout_ms", 0) > 0:
            self.arm_timeout(run)

    def arm_timeout(self, run):
        timeout_ms = run.job["timeout_ms"]
        run.timer = self.loop.call_later(
            timeout_ms / 1000, self.stop, run, "failed", f"timeout after {timeout_ms} ms")

    async def run_io(self, run):
        context = IoJob(self, run)
        jobs._current.set(context)
        try:
            value = await jobs.call(run.kind, _wire.from_json(run.job.get("args")))
        except asyncio.CancelledError:
            if not run.ended:
                raise
            return
        except FailedFinal as error:
            self.finish(run, "failed", error=jobs.describe(error), no_retry=True)
            return
        except Exception as error:  # noqa: BLE001 - the job's own failure
            context._log("".join(traceback.format_exception(error)))
            self.finish(run, "failed", error=jobs.describe(error))
            return
        try:
            result = _wire.to_json(value, _wire.MAX_RESULT)
        except (ValueError, TypeError) as error:
            self.finish(run, "failed", error=f"result is not JSON: {error}", no_retry=True)
            return
        self.finish(run, "succeeded", result=result)

    def cpu_outcome(self, cpu, state, result, error, no_retry):
        run = self.running.get(cpu.job["id"])
        if run is None or run.cpu is not cpu:
            return
        self.finish(run, state, result=result, error=error, no_retry=no_retry)

    def on_cancel(self, frame):
        for job_id in frame.get("ids", []):
            run = self.running.get(job_id)
            if run is not None:
                self.stop(run, "cancelled", "cancelled")

    def stop(self, run, state, error):
        """Ends a job now (cancel, timeout): its task is cancelled, or its
        process killed and replaced."""
        if run.ended:
            return
        if run.cpu is not None:
            self.pool.stop(run.cpu)
            if state == "failed" or error != "cancelled":
                _log.info(f'cpu process killed job={run.id} error="{error}"')
        self.finish(run, state, error=error)
        if run.task is not None:
            run.task.cancel()

    def finish(self, run, state, result=None, error=None, no_retry=False, klass=None):
        """A job's outcome: into the turn's RESULTS, after its reports."""
        if run.ended:
            return
        run.ended = True
        if run.timer is not None:
            run.timer.cancel()
        if run.parent is not None:
            run.parent.end()
        self.running.pop(run.id, None)
        self.logs.end(run.id)
        outcome = {"id": run.id, "attempts": run.attempt, "state": state,
                   "started_at": run.started_at, "finished_at": time.time()}
        if result is not None:
            outcome["result"] = result
        if error is not None:
            outcome["error"] = error
        if no_retry:
            outcome["no_retry"] = True
        self.results.add(outcome, klass or run.kind.klass)
        self.schedule_flush(force_progress=run.id in self.progress)

    #  --- What leaves at the end of a loop turn

    def report(self, job_id, attempt, what, payload):
        """A running job's progress or log text, sent with the turn."""
        run = self.running.get(job_id)
        if run is None:
            return
        if what == "log":
            self.logs.add(job_id, run.attempt, payload)
        elif what == "progress":
            done, total, text = payload
            self.progress[job_id] = {"id": job_id, "attempts": run.attempt,
                                     "progress_done": done, "progress_total": total,
                                     "progress_text": text}
        self.schedule_flush()

    def schedule_flush(self, force_progress=False):
        if force_progress:
            self.progress_sent = 0.0
        if not self.flush_due:
            self.flush_due = True
            self.loop.call_soon(self.flush)

    def flush(self):
        """Sends the turn's logs, progress, and results, in that order."""
        self.flush_due = False
        if not self.welcomed:
            self.logs.pending = {}
            self.results.seal()
            return
        for frame in self.logs.frames():
            self.send(frame)
        now = time.monotonic()
        if self.progress and now - self.progress_sent >= _PROGRESS_EVERY_S:
            reports = list(self.progress.values())
            self.progress = {}
            self.progress_sent = now
            for start in range(0, len(reports), _wire.MAX_BATCH):
                self.send(_wire.encode("PROGRESS", jobs=reports[start:start + _wire.MAX_BATCH]))
        elif self.progress and self.progress_timer is None:
            self.progress_timer = self.loop.call_later(_PROGRESS_EVERY_S, self.progress_due)
        for frame in self.results.seal():
            self.send(frame)

    def progress_due(self):
        self.progress_timer = None
        self.schedule_flush()

    #  --- The blocking detector

    def watch_blocking(self):
        """asyncio's own slow-callback hook, naming the job that held the
        loop: its debug mode times every callback and logs those over
        slow_callback_duration. The costly parts of debug mode (a stack
        captured for every handle and future, coroutine origins, checks of
        every callback and of the calling thread) stay off.
        """
        loop = self.loop
        loop.slow_callback_duration = self.config.block_threshold
        #  Before set_debug, which schedules the origin tracking's start.
        loop._set_coroutine_origin_tracking = lambda enabled: None
        loop._check_callback = lambda callback, method: None
        loop._check_thread = lambda: None
        loop.set_debug(True)
        loop.get_debug = lambda: False
        import logging

        logging.getLogger("asyncio").addFilter(self.on_slow_callback)

    def on_slow_callback(self, record):
        if not record.msg.startswith("Executing %s took"):
            return True
        handle, seconds = record.args
        held_ms = int(seconds * 1000)
        self.blocked_ms += held_ms
        match = _TASK_NAME.search(str(handle))
        if match:
            _log.warning(f"loop blocked job={match.group(1)} kind={match.group(2)} "
                         f"held_ms={held_ms}")
        else:
            _log.warning(f"loop blocked held_ms={held_ms} by={str(handle)[:200]}")
        return False


_NUMBER = r"(\d+(?:\.\d+)?)"
_DURATION = re.compile(
    rf"(?:{_NUMBER}d)?(?:{_NUMBER}h)?(?:{_NUMBER}m(?!s))?(?:{_NUMBER}s)?(?:{_NUMBER}ms)?")
_SCALES = (86400, 3600, 60, 1, 0.001)


def _duration(text):
    """A duration as the C programs take it: "250ms", "1h30m", "1d", or a
    bare number of seconds; in seconds."""
    if re.fullmatch(_NUMBER, text):
        return float(text)
    match = _DURATION.fullmatch(text)
    if not text or not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (250ms, 2s, 1h30m, 1d)")
    return sum(float(part) * scale for part, scale in zip(match.groups(), _SCALES) if part)


def _size(text):
    match = re.fullmatch(r"(\d+)([KM]?)", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (1K..4M)")
    value = int(match.group(1)) * {"": 1, "K": 1024, "M": 1024 * 1024}[match.group(2)]
    if not 1024 <= value <= 4 * 1024 * 1024:
        raise argparse.ArgumentTypeError("--max-log takes 1K..4M")
    return value


def _count(low, high):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"takes {low}..{high}")
        return value

    return parse


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python3 -m zjob.worker",
        description="Run the @zjob.job functions of MODULEs as a zjob worker: "
        "async def as I/O jobs on this loop, def as CPU jobs in a process pool.",
        epilog="exit: 0 stopped by a signal, 1 cannot start, 2 usage error, "
        "4 --name is held by another live worker, 70 the watchdog stopped us",
    )
    parser.add_argument("modules", nargs="+", metavar="MODULE",
                        help="module to import (a dotted name, or a path to a .py file)")
    parser.add_argument("--connect", default=DEFAULT_ENDPOINT, metavar="EP",
                        help=f"coordinator's workers endpoint (default {DEFAULT_ENDPOINT})")
    parser.add_argument("--name", help="unique worker name (default HOST-PID)")
    parser.add_argument("--io-slots", type=_count(0, 1000000), default=1024, metavar="N",
                        help="I/O jobs at once, as asyncio tasks (default 1024)")
    parser.add_argument("--cpu-procs", type=_count(0, 1024), default=os.cpu_count() or 1,
                        metavar="N", help="CPU pool processes (default: one per core)")
    parser.add_argument("--cpu-prefetch", type=_count(0, 64), default=1, metavar="N",
                        help="CPU jobs held ready per process (default 1)")
    parser.add_argument("--max-suspended", type=_count(0, 1000000), default=1000, metavar="N",
                        help="jobs awaiting sub-jobs that give their I/O slot back "
                        "meanwhile (default 1000)")
    parser.add_argument("--max-log", type=_size, default=1024 * 1024, metavar="SIZE",
                        help="bytes of log each attempt may write (default 1M)")
    parser.add_argument("--block-threshold", type=_duration, default=0.1, metavar="DUR",
                        help="report a job holding the loop longer (default 100ms)")
    parser.add_argument("--watchdog", type=_duration, default=10.0, metavar="DUR",
                        help="exit with status 70, naming the job, when one job holds "
                        "the loop this long (default 10s; 0 never)")
    parser.add_argument("--grace", type=_duration, default=10.0, metavar="DUR",
                        help="on SIGTERM/SIGINT, let running jobs finish this long "
                        "(default 10s); a second signal stops at once")
    parser.add_argument("--log-level", choices=("error", "warning", "info", "debug"),
                        help="error, warning, info (default) or debug; wins over $ZJOB_LOG")
    parser.add_argument("--version", action="version",
                        version=f"python3 -m zjob.worker {zjob.__version__} "
                        f"(protocol {_wire.VERSION})")
    parser.add_argument("--key", default=os.environ.get("ZJOB_KEY"), metavar="FILE",
                        help="our secret key (NAME.key_secret; default $ZJOB_KEY)")
    parser.add_argument("--coordinator-key", metavar="FILE",
                        default=os.environ.get("ZJOB_COORDINATOR_KEY"),
                        help="the coordinator's public key (default $ZJOB_COORDINATOR_KEY)")
    config = parser.parse_args(argv)
    if bool(config.key) != bool(config.coordinator_key):
        parser.error("--key and --coordinator-key go together")
    return config


def import_modules(names):
    """Imports each module (a dotted name or a .py path); their names."""
    imported = []
    for name in names:
        if name.endswith(".py") or os.sep in name:
            directory, file = os.path.split(os.path.abspath(name))
            sys.path.insert(0, directory)
            name = file[:-3] if file.endswith(".py") else file
        __import__(name)
        imported.append(name)
    return imported


async def _main(config):
    worker = Worker(config, jobs.kinds())
    return await worker.run()


def main(argv=None):
    config = parse_args(sys.argv[1:] if argv is None else argv)
    if config.log_level:
        _log.set_level(config.log_level)
    try:
        config.modules = import_modules(config.modules)
    except Exception as error:  # noqa: BLE001 - any failure of user code
        _log.error(f'cannot import module error="{jobs.describe(error)}"')
        traceback.print_exc()
        return 1
    if not jobs.kinds():
        _log.error("no job kinds: the modules registered no @zjob.job function")
        return 1
    try:
        if config.key:
            _keys.load_secret(config.key)
            _keys.load_public(config.coordinator_key)
    except Error as error:
        _log.error(f"cannot use CURVE: {error.reason}")
        return 1
    sys.stdout = _Stdout(sys.stdout)
    return asyncio.run(_main(config))


if __name__ == "__main__":
    sys.exit(main())
