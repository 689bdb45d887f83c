"""A test cluster of real processes: a coordinator, C and Python workers.

Tests of the Python package run against the real programs of bin/ over
real sockets, never against fakes. A Cluster owns a temporary folder, the
coordinator's two ports (kept across restarts, so that clients and
workers find it again) and every process it started, and ends them all
on close. Every wait here is bounded, so a broken program fails a test
instead of hanging it.
"""

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON_DIR = os.path.join(REPO, "python")
TESTS_DIR = os.path.join(REPO, "tests", "python")
PYTHON = "/usr/bin/python3"

if PYTHON_DIR not in sys.path:
    sys.path.insert(0, PYTHON_DIR)


def bin_dir():
    """The folder of the programs under test: env BIN, else bin/."""
    path = os.environ.get("BIN", "bin")
    return path if os.path.isabs(path) else os.path.join(REPO, path)


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (held open until all found)."""
    sockets = []
    try:
        for _ in range(n):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_for(predicate, timeout, what):
    """Polls predicate every 50 ms until it is true; AssertionError after
    timeout seconds, naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except Exception:  # noqa: BLE001 - a probe may fail until ready
            pass
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def _signal_group(proc, sig):
    """Sends sig to the process group proc leads (each program started
    here leads its own), so that its children go with it."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class Cluster:
    """A coordinator and workers in a temporary folder, ended on close.

    Attributes: dir, db, clients_ep, workers_ep, bin. Use as a context
    manager, or `cluster = Cluster(); self.addCleanup(cluster.close)`.
    """

    def __init__(self):
        self.bin = bin_dir()
        self.dir = tempfile.mkdtemp(prefix="zjob-test-")
        self.db = os.path.join(self.dir, "zjob.db")
        client_port, worker_port = free_ports(2)
        self.clients_ep = f"tcp://127.0.0.1:{client_port}"
        self.workers_ep = f"tcp://127.0.0.1:{worker_port}"
        self.coordinator = None
        self.coordinator_flags = ()
        self.procs = {}  # name -> Popen, every process started
        self._logs = []
        self._closed = False

    @classmethod
    def started(cls, setup):
        """A cluster that setup(cluster) started; closed if setup fails."""
        cluster = cls()
        try:
            setup(cluster)
        except BaseException:
            cluster.close()
            raise
        return cluster

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    #  -- processes ---------------------------------------------------------

    def _spawn(self, name, argv, env=None):
        """Starts argv with stdout and stderr to DIR/name.log."""
        log = open(os.path.join(self.dir, f"{name}.log"), "ab")
        self._logs.append(log)
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env if env is not None else os.environ.copy(),
            cwd=self.dir,
            start_new_session=True,  # Its group: close() ends its children too
        )
        self.procs[f"{name}#{proc.pid}"] = proc
        return proc

    def start_coordinator(self, *flags):
        """Starts the coordinator on this cluster's ports and store, and
        waits (10 s at most) until `zjob workers` gets an answer."""
        flags = flags or self.coordinator_flags
        self.coordinator_flags = flags
        argv = [
            os.path.join(self.bin, "zjob-coordinator"),
            "--clients", self.clients_ep,
            "--workers", self.workers_ep,
            "--db", self.db,
            "--heartbeat", "500ms",
            *flags,
        ]
        self.coordinator = self._spawn("coordinator", argv)
        if "--key" in flags:
            self._wait_listening(self.coordinator)
        else:
            self.wait_for(self._coordinator_answers, 10, "the coordinator to answer")
        return self.coordinator

    def _coordinator_answers(self):
        if self.coordinator.poll() is not None:
            raise AssertionError(
                f"coordinator exited {self.coordinator.returncode}:\n"
                + self.log("coordinator")
            )
        return self.zjob("workers", timeout=5).returncode == 0

    def _wait_listening(self, proc):
        """With CURVE the CLI needs keys: wait for the port to accept."""
        port = int(self.clients_ep.rsplit(":", 1)[1])

        def listening():
            if proc.poll() is not None:
                raise AssertionError(
                    f"coordinator exited {proc.returncode}:\n" + self.log("coordinator")
                )
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True

        wait_for(listening, 10, "the coordinator to listen")

    def stop_coordinator(self, sig=signal.SIGTERM):
        """Stops the coordinator with sig and reaps it (10 s at most)."""
        if self.coordinator is not None:
            self.kill(self.coordinator, sig)
            self.coordinator = None

    def restart_coordinator(self, *flags):
        """Stops the coordinator and starts it again on the same ports."""
        self.stop_coordinator()
        return self.start_coordinator(*flags)

    def _worker_env(self, env=None):
        merged = os.environ.copy()
        merged["PYTHONPATH"] = os.pathsep.join([PYTHON_DIR, TESTS_DIR])
        merged.setdefault("ZJOB_LOG", "info")
        if env:
            merged.update(env)
        return merged

    def start_c_worker(self, name, *flags, wait=True):
        """Starts bin/zjob-worker as name; waits until the store says it
        is connected, unless wait is false."""
        argv = [
            os.path.join(self.bin, "zjob-worker"),
            "--connect", self.workers_ep,
            "--name", name,
            *flags,
        ]
        proc = self._spawn(name, argv)
        if wait:
            self.wait_connected(name, proc)
        return proc

    def start_py_worker(self, name, *modules, flags=(), env=None, wait=True):
        """Starts `python3 -m zjob.worker` as name with modules of kinds;
        waits until the store says it is connected, unless wait is false."""
        argv = [
            PYTHON, "-m", "zjob.worker",
            "--connect", self.workers_ep,
            "--name", name,
            *flags,
            *modules,
        ]
        proc = self._spawn(name, argv, env=self._worker_env(env))
        if wait:
            self.wait_connected(name, proc)
        return proc

    def wait_connected(self, name, proc=None, timeout=10):
        """Waits until the workers table says name is connected."""

        def connected():
            if proc is not None and proc.poll() is not None:
                raise AssertionError(
                    f"{name} exited {proc.returncode}:\n" + self.log(name)
                )
            rows = self.sql(f"SELECT state FROM workers WHERE name = '{name}'")
            return rows and rows[0][0] == "connected"

        self.wait_for(connected, timeout, f"worker {name} to connect")

    def kill(self, proc, sig=signal.SIGTERM, timeout=10):
        """Sends sig to proc and reaps it; SIGKILL after timeout seconds."""
        if proc.poll() is None:
            try:
                proc.send_signal(sig)
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        return proc.returncode

    #  -- looking -----------------------------------------------------------

    def zjob(self, *args, input=None, timeout=30, env=None):
        """Runs the CLI against this cluster; a CompletedProcess (text)."""
        merged = os.environ.copy()
        merged["ZJOB_COORDINATOR"] = self.clients_ep
        if env:
            merged.update(env)
        return subprocess.run(
            [os.path.join(self.bin, "zjob"), *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=merged,
            cwd=self.dir,
        )

    def sql(self, query, params=()):
        """Rows of query on the store, opened read-only."""
        if not os.path.exists(self.db):
            return []
        uri = f"file:{self.db}?mode=ro"
        connection = sqlite3.connect(uri, uri=True, timeout=5)
        try:
            connection.execute("PRAGMA busy_timeout = 5000")
            return connection.execute(query, params).fetchall()
        finally:
            connection.close()

    def log(self, name):
        """The text one program wrote so far (DIR/name.log)."""
        path = os.path.join(self.dir, f"{name}.log")
        try:
            with open(path, encoding="utf-8", errors="replace") as file:
                return file.read()
        except FileNotFoundError:
            return ""

    def wait_for(self, predicate, timeout, what):
        """wait_for, with the coordinator's log in the failure."""
        try:
            wait_for(predicate, timeout, what)
        except AssertionError as error:
            tail = self.log("coordinator")[-3000:]
            raise AssertionError(f"{error}\n--- coordinator log tail:\n{tail}") from None

    def client(self, **kw):
        """A zjob client of this cluster (not opened: use async with)."""
        from zjob.client import Client

        return Client(self.clients_ep, **kw)

    #  -- the end -----------------------------------------------------------

    def close(self):
        """Ends every process started here by PID (SIGTERM, 3 s, SIGKILL),
        reaps them, and removes the folder unless env KEEP_TMP is set."""
        if self._closed:
            return
        self._closed = True
        procs = list(self.procs.values())
        for proc in procs:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 3
        for proc in procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for proc in procs:  # What its children left (a CPU pool, say)
            _signal_group(proc, signal.SIGKILL)
        for log in self._logs:
            log.close()
        if os.environ.get("KEEP_TMP"):
            sys.stderr.write(f"\nkept {self.dir}\n")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
