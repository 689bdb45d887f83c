"""python3 -m zjob.worker against a real coordinator, beside a C worker:
its jobs' outcomes, errors, timeouts, cancels, crashes, sub-jobs,
progress, logs, the blocking detector, the drain and held results."""

import json
import os
import re
import signal
import subprocess
import time
import unittest
import urllib.request

from tests.python.harness import PYTHON, REPO, Cluster, free_ports, wait_for


def _json(process):
    """The JSON line a command printed; exit 1 says its job failed."""
    if process.returncode not in (0, 1) or not process.stdout.strip():
        raise AssertionError(f"zjob exited {process.returncode}: {process.stderr}")
    return json.loads(process.stdout)


def _descendants(pid):
    """The processes under pid, from /proc, children first."""
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        for task in os.listdir(f"/proc/{parent}/task"):
            with open(f"/proc/{parent}/task/{task}/children") as file:
                children = [int(child) for child in file.read().split()]
            found.extend(children)
            queue.extend(children)
    return found


class SharedCluster(unittest.TestCase):
    """One coordinator, a Python worker py1 (2 CPU processes) and a C
    worker c1, for the tests that leave them as they found them."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster.started(lambda cluster: (
            cluster.start_coordinator(),
            cluster.start_py_worker("py1", "pyjobs", flags=("--cpu-procs", "2")),
            cluster.start_c_worker("c1", "--cpu-procs", "1")))

    @classmethod
    def tearDownClass(cls):
        cls.cluster.close()

    def run_job(self, kind, args=None, *flags):
        """Submits a job with the CLI and waits for it (20 s at most)."""
        argv = ["submit", kind] + ([json.dumps(args)] if args is not None else [])
        return _json(self.cluster.zjob(*argv, *flags, "--wait", timeout=20))

    def test_the_cli_reaches_a_python_kind(self):
        self.assertEqual(self.run_job("fetch", "a"),
                         {"id": self.id_of("fetch"), "state": "succeeded",
                          "result": "fetched a"})

    def id_of(self, kind):
        rows = self.cluster.sql("SELECT max(id) FROM jobs WHERE kind = ?", (kind,))
        return rows[0][0]

    def test_args_map_to_the_call(self):
        self.assertEqual(self.run_job("py.echo", {"x": [1, 2]})["result"], {"x": [1, 2]})
        self.assertEqual(self.run_job("nap", [0])["result"], 0)
        self.assertEqual(self.run_job("nap", 0.01)["result"], 0.01)

    def test_args_that_do_not_fit_fail_at_once(self):
        outcome = self.run_job("fetch", {"nobody": 1}, "--retries", "3")
        self.assertEqual(outcome["state"], "failed")
        self.assertIn("bad args for fetch", outcome["error"])
        rows = self.cluster.sql("SELECT attempts FROM jobs WHERE id = ?", (outcome["id"],))
        self.assertEqual(rows[0][0], 1, "a retry cannot fix bad args")

    def test_an_exception_fails_the_job_with_its_type_and_message(self):
        outcome = self.run_job("boom", {"message": "it broke"}, "--retries", "1",
                               "--backoff", "10ms")
        self.assertEqual(outcome["state"], "failed")
        self.assertEqual(outcome["error"], "ValueError: it broke")
        rows = self.cluster.sql("SELECT attempts FROM jobs WHERE id = ?", (outcome["id"],))
        self.assertEqual(rows[0][0], 2, "an exception is retried")
        logs = self.cluster.zjob("logs", str(outcome["id"])).stdout
        self.assertIn("Traceback", logs)
        self.assertIn("--- attempt 2 ---", logs)

    def test_failed_final_is_not_retried(self):
        outcome = self.run_job("final", ["no way"], "--retries", "3")
        self.assertEqual((outcome["state"], outcome["error"]), ("failed", "FailedFinal: no way"))
        rows = self.cluster.sql("SELECT attempts FROM jobs WHERE id = ?", (outcome["id"],))
        self.assertEqual(rows[0][0], 1)

    def test_a_cpu_job_runs_in_another_process(self):
        outcome = self.run_job("crunch", [100])
        self.assertEqual(outcome["state"], "succeeded")
        self.assertEqual(outcome["result"]["n"], 100)
        worker_pid = self.cluster.sql("SELECT pid FROM workers WHERE name = 'py1'")[0][0]
        self.assertNotEqual(outcome["result"]["pid"], worker_pid)
        logs = self.cluster.zjob("logs", str(outcome["id"])).stdout
        self.assertEqual(logs, "crunched 100\n", "a CPU job's print is in its log")
        status = self.cluster.zjob("status", str(outcome["id"])).stdout
        self.assertIn("progress:    100 of 100, done", status)

    def test_a_cpu_job_that_crashes_its_process_fails_and_the_pool_goes_on(self):
        for args, error in (("segv", "process crashed: killed by signal SIGSEGV "
                                     "(Segmentation fault)"),
                            ("exit", "process exited with status 3")):
            outcome = self.run_job("crash", args)
            self.assertEqual(outcome.get("error"), error, f"{outcome}\n{self.py1_log()}")
        outcome = self.run_job("crunch", [1])
        self.assertEqual(outcome["state"], "succeeded", f"{outcome}\n{self.py1_log()}")

    def py1_log(self):
        return "--- py1.log, last lines:\n" + "\n".join(self.cluster.log("py1").splitlines()[-15:])

    def test_a_timeout_stops_an_io_job_and_a_cpu_job(self):
        for kind in ("nap", "spin"):
            started = time.monotonic()
            outcome = self.run_job(kind, [30], "--timeout", "300ms")
            self.assertEqual((outcome["state"], outcome["error"]),
                             ("failed", "timeout after 300 ms"), kind)
            self.assertLess(time.monotonic() - started, 10, kind)
        self.assertIn('cpu process killed job=', self.cluster.log("py1"))
        self.assertEqual(self.run_job("spin", [0])["state"], "succeeded")

    def test_a_cancel_stops_running_jobs(self):
        ids = [self.cluster.zjob("submit", kind, "[30]").stdout.strip()
               for kind in ("nap", "spin")]
        wait_for(lambda: self.cluster.sql(
            f"SELECT count(*) FROM jobs WHERE state = 'running' AND id IN ({','.join(ids)})"
        )[0][0] == 2, 10, "both jobs to run")
        self.assertEqual(self.cluster.zjob("cancel", *ids).returncode, 0)
        for job_id in ids:
            outcome = _json(self.cluster.zjob("wait", job_id, timeout=20))
            self.assertEqual(outcome["state"], "cancelled")

    def test_a_coroutine_that_holds_the_loop_is_reported(self):
        outcome = self.run_job("hog", [250])
        self.assertEqual(outcome["state"], "succeeded")
        self.assertRegex(self.cluster.log("py1"),
                         rf"loop blocked job={outcome['id']} kind=hog held_ms=2[5-9]\d")

    def test_prints_logs_and_progress_reach_the_store(self):
        outcome = self.run_job("chatty", [3])
        logs = self.cluster.zjob("logs", str(outcome["id"])).stdout
        self.assertEqual(logs.splitlines(),
                         ["printed 0", "logged 0", "printed 1", "logged 1",
                          "printed 2", "logged 2"])
        rows = self.cluster.sql("SELECT progress_done, progress_total, progress_text "
                                "FROM jobs WHERE id = ?", (outcome["id"],))
        self.assertEqual(rows, [(3, 3, "line 2")])

    def test_a_job_gathers_its_children_on_c_and_python_workers(self):
        outcome = self.run_job("fan", {"kind": "echo", "items": [{"n": 1}, {"n": 2}]})
        self.assertEqual(outcome["result"], [{"n": 1}, {"n": 2}])
        children = self.cluster.sql("SELECT kind, worker, call FROM jobs WHERE parent = ? "
                                    "ORDER BY call", (outcome["id"],))
        self.assertEqual(children, [("echo", "c1", 1), ("echo", "c1", 2)])
        outcome = self.run_job("fan", {"kind": "fetch", "items": ["x", "y", "z"]})
        self.assertEqual(outcome["result"], ["fetched x", "fetched y", "fetched z"])

    def test_a_child_that_fails_fails_the_gather(self):
        outcome = self.run_job("fan", {"kind": "boom", "items": [{"message": "child"}]})
        self.assertEqual(outcome["state"], "failed")
        self.assertRegex(outcome["error"], r"^JobFailed: job \d+ failed: ValueError: child$")

    def test_a_child_never_awaited_is_named(self):
        outcome = self.run_job("orphan", {"kind": "nap", "args": [0]})
        child = self.cluster.sql("SELECT id FROM jobs WHERE parent = ?", (outcome["id"],))[0][0]
        self.assertIn(f"never awaited parent={outcome['id']} child={child} kind=nap",
                      self.cluster.log("py1"))

    def test_a_cpu_job_cannot_submit(self):
        outcome = self.run_job("cpu_submit")
        self.assertEqual(outcome["state"], "failed")
        self.assertIn("EDENIED: only I/O jobs may submit and await jobs", outcome["error"])

    def test_a_result_that_is_not_json_fails_at_once(self):
        outcome = self.run_job("py.echo", {"x": 1}, "--retries", "2")
        self.assertEqual(outcome["state"], "succeeded")
        outcome = self.run_job("unjson", None, "--retries", "2")
        self.assertEqual(outcome["state"], "failed")
        self.assertIn("result is not JSON", outcome["error"])

    def test_the_worker_offers_its_kinds_by_class(self):
        workers = [json.loads(line) for line in self.cluster.zjob("workers").stdout.splitlines()]
        py1 = next(worker for worker in workers if worker["name"] == "py1")
        self.assertEqual(py1["kinds"]["fetch"], "io")
        self.assertEqual(py1["kinds"]["crunch"], "cpu")
        self.assertEqual(py1["cpu_slots"], 4, "2 processes, each with 1 job ready")


class OwnCluster(unittest.TestCase):
    """Tests that stop, restart or starve what they run."""

    def setUp(self):
        self.cluster = Cluster()
        self.addCleanup(self.cluster.close)
        self.cluster.start_coordinator()

    def test_heartbeats_carry_blocked_time_to_metrics(self):
        """A coroutine that held the loop 250 ms shows in the coordinator's
        /metrics as the Python worker's blocked seconds."""
        port = free_ports(1)[0]
        self.cluster.coordinator.terminate()
        self.cluster.coordinator.wait(10)
        self.cluster.start_coordinator("--http", f"127.0.0.1:{port}")
        self.cluster.start_py_worker("py1", "pyjobs")
        job_id = self.cluster.zjob("submit", "hog", "[250]").stdout.strip()
        self.assertEqual(_json(self.cluster.zjob("wait", job_id, timeout=20))["state"],
                         "succeeded")

        def blocked_seconds():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                text = r.read().decode()
            match = re.search(r'^zjob_worker_loop_blocked_seconds_total\{worker="py1"\} (\S+)$',
                              text, re.M)
            return float(match.group(1)) if match else 0
        self.cluster.wait_for(lambda: 0.2 <= blocked_seconds() < 5, 10,
                              "the blocked seconds in /metrics")

    def test_sigterm_lets_running_jobs_finish_then_exits(self):
        worker = self.cluster.start_py_worker("py1", "pyjobs")
        job_id = self.cluster.zjob("submit", "nap", "[1]").stdout.strip()
        self.cluster.wait_for(lambda: self.cluster.sql(
            f"SELECT state FROM jobs WHERE id = {job_id}")[0][0] == "running", 10, "the job")
        worker.send_signal(signal.SIGTERM)
        self.assertEqual(worker.wait(15), 0)
        self.assertEqual(self.cluster.sql(f"SELECT state FROM jobs WHERE id = {job_id}")[0][0],
                         "succeeded")
        self.assertIn("drained running=0 unacked=0", self.cluster.log("py1"))

    def test_a_drain_past_its_grace_hands_the_jobs_back(self):
        worker = self.cluster.start_py_worker("py1", "pyjobs", flags=("--grace", "300ms"))
        job_id = self.cluster.zjob("submit", "nap", "[30]").stdout.strip()
        self.cluster.wait_for(lambda: self.cluster.sql(
            f"SELECT state FROM jobs WHERE id = {job_id}")[0][0] == "running", 10, "the job")
        worker.send_signal(signal.SIGTERM)
        self.assertEqual(worker.wait(15), 0)
        self.cluster.wait_for(lambda: self.cluster.sql(
            f"SELECT state FROM jobs WHERE id = {job_id}")[0][0] == "queued", 10,
            "the job to be queued again")

    def test_results_made_while_the_coordinator_is_down_are_sent_after(self):
        self.cluster.start_py_worker("py1", "pyjobs")
        job_id = self.cluster.zjob("submit", "nap", "[1]").stdout.strip()
        self.cluster.wait_for(lambda: self.cluster.sql(
            f"SELECT state FROM jobs WHERE id = {job_id}")[0][0] == "running", 10, "the job")
        self.cluster.stop_coordinator(signal.SIGKILL)
        time.sleep(1.5)  #  The job ends while nobody listens
        self.cluster.start_coordinator()
        outcome = _json(self.cluster.zjob("wait", job_id, timeout=20))
        self.assertEqual((outcome["state"], outcome["result"]), ("succeeded", 1))
        self.assertEqual(self.cluster.sql(f"SELECT attempts FROM jobs WHERE id = {job_id}"),
                         [(1,)], "the held result counted: no second attempt")

    def test_a_worker_killed_leaves_no_pool_process_behind(self):
        worker = self.cluster.start_py_worker("py1", "pyjobs", flags=("--cpu-procs", "2"))
        self.assertEqual(self.run_job_id("crunch", "[1]"), "succeeded")
        descendants = _descendants(worker.pid)
        self.assertGreaterEqual(len(descendants), 3, "a fork server and two processes")
        self.cluster.kill(worker, signal.SIGKILL)
        wait_for(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in descendants), 10,
                 f"the pool's processes {descendants} to end with their worker")

    def run_job_id(self, kind, args):
        job_id = self.cluster.zjob("submit", kind, args).stdout.strip()
        return _json(self.cluster.zjob("wait", job_id, timeout=20))["state"]

    def test_the_watchdog_ends_a_worker_whose_loop_a_job_holds(self):
        worker = self.cluster.start_py_worker("py1", "pyjobs", flags=("--watchdog", "500ms"))
        job_id = self.cluster.zjob("submit", "stuck", "[30]", "--retries", "1").stdout.strip()
        self.assertEqual(worker.wait(20), 70)
        self.assertRegex(self.cluster.log("py1"),
                         rf"watchdog: loop stuck held_ms=\d+ limit_ms=500 job={job_id} "
                         rf"kind=stuck; exiting status=70")
        self.cluster.wait_for(lambda: self.cluster.sql(
            f"SELECT losses FROM jobs WHERE id = {job_id}")[0][0] == 1, 10,
            "the loss to count against the job")

    def test_a_name_held_by_a_live_worker_is_refused(self):
        self.cluster.start_py_worker("same", "pyjobs")
        second = self.cluster.start_py_worker("same", "pyjobs", wait=False)
        self.assertEqual(second.wait(20), 4)
        self.assertIn("cannot join: name 'same' is held", self.cluster.log("same"))

    def test_a_module_that_cannot_be_imported_stops_the_worker(self):
        worker = self.cluster.start_py_worker("bad", "no_such_module", wait=False)
        self.assertEqual(worker.wait(20), 1)
        self.assertIn("cannot import module", self.cluster.log("bad"))

    def test_a_cpu_pool_of_two_runs_two_jobs_at_once(self):
        self.cluster.start_py_worker("py1", "pyjobs", flags=("--cpu-procs", "2"))
        ids = self.cluster.zjob("submit", "--batch", "-",
                                input='{"kind": "spin", "args": [0.5]}\n' * 4).stdout.split()
        result = self.cluster.zjob("gather", *ids, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        spans = self.cluster.sql(
            f"SELECT started_at, finished_at, worker FROM jobs WHERE id IN ({','.join(ids)})")
        self.assertEqual({span[2] for span in spans}, {"py1"})
        #  At some job's start, another one was running too.
        overlaps = [sum(1 for other in spans if other[0] <= span[0] < other[1])
                    for span in spans]
        self.assertEqual(max(overlaps), 2, f"the pool ran them one at a time: {spans}")

    def test_curve(self):
        keys = os.path.join(self.cluster.dir, "keys")
        for folder in ("workers.d", "clients.d"):
            os.makedirs(os.path.join(keys, folder), mode=0o755)
        for name in ("coord", "pyw", "ops", "stranger"):
            subprocess.run([os.path.join(self.cluster.bin, "zjob"), "keygen",
                            os.path.join(keys, name)], check=True, capture_output=True)
        os.rename(os.path.join(keys, "pyw.key"), os.path.join(keys, "workers.d", "pyw.key"))
        os.rename(os.path.join(keys, "ops.key"), os.path.join(keys, "clients.d", "ops.key"))
        self.cluster.restart_coordinator(
            "--key", os.path.join(keys, "coord.key_secret"),
            "--worker-keys", os.path.join(keys, "workers.d"),
            "--client-keys", os.path.join(keys, "clients.d"))
        self.cluster.start_py_worker(
            "pyw", "pyjobs", flags=("--key", os.path.join(keys, "pyw.key_secret"),
                                    "--coordinator-key", os.path.join(keys, "coord.key")))
        env = {"ZJOB_KEY": os.path.join(keys, "ops.key_secret"),
               "ZJOB_COORDINATOR_KEY": os.path.join(keys, "coord.key")}
        outcome = _json(self.cluster.zjob("submit", "fetch", '"k"', "--wait", env=env))
        self.assertEqual(outcome["result"], "fetched k")
        stranger = self.cluster.start_py_worker(
            "stranger", "pyjobs", wait=False,
            flags=("--key", os.path.join(keys, "stranger.key_secret"),
                   "--coordinator-key", os.path.join(keys, "coord.key")))
        self.cluster.wait_for(lambda: "key not in" in self.cluster.log("coordinator"), 10,
                              "the stranger to be refused")
        self.assertIsNone(stranger.poll())
        self.assertEqual(self.cluster.sql("SELECT count(*) FROM workers WHERE name = 'stranger'"),
                         [(0,)])
        os.chmod(os.path.join(keys, "pyw.key_secret"), 0o644)
        loose = self.cluster.start_py_worker(
            "loose", "pyjobs", wait=False,
            flags=("--key", os.path.join(keys, "pyw.key_secret"),
                   "--coordinator-key", os.path.join(keys, "coord.key")))
        self.assertEqual(loose.wait(20), 1)
        self.assertIn("may be read by others (mode 644)", self.cluster.log("loose"))

    def test_version_is_the_c_programs_and_log_level_wins(self):
        with open(os.path.join(REPO, "common", "version.h")) as file:
            version = re.search(r'#define ZJ_VERSION "(.*)"', file.read()).group(1)
        process = subprocess.run([PYTHON, "-m", "zjob.worker", "--version"], capture_output=True,
                                 text=True, timeout=20, env=self.cluster._worker_env())
        self.assertEqual(process.stdout.strip(), f"python3 -m zjob.worker {version} (protocol 1)")
        self.cluster.start_py_worker("quiet", "pyjobs", flags=("--log-level", "warning"),
                                     env={"ZJOB_LOG": "debug"})
        self.assertEqual(self.run_job_id("fetch", '"q"'), "succeeded")
        self.assertNotIn("I: ", self.cluster.log("quiet"))

    def test_the_client_forgets_workers_gone(self):
        gone = self.cluster.start_py_worker("gone1", "pyjobs")
        self.cluster.start_py_worker("live1", "pyjobs")
        self.assertEqual(self.cluster.kill(gone), 0)
        self.cluster.wait_for(lambda: self.cluster.sql(
            "SELECT state FROM workers WHERE name = 'gone1'") == [("gone",)], 10, "gone1 gone")
        from zjob import BlockingClient

        with BlockingClient(self.cluster.clients_ep) as client:
            self.assertEqual(sorted(w["name"] for w in client.workers()), ["gone1", "live1"])
            self.assertEqual([w["name"] for w in client.workers(forget=True)], ["live1"])
        self.assertEqual(self.cluster.sql("SELECT name FROM workers"), [("live1",)])

    def test_the_client_purges_old_jobs(self):
        self.cluster.start_py_worker("py1", "pyjobs")
        ids = [self.cluster.zjob("submit", "fetch", f'"{n}"', "--wait").stdout for n in range(3)]
        self.assertEqual(len(ids), 3)
        from zjob import BlockingClient

        with BlockingClient(self.cluster.clients_ep) as client:
            with self.assertRaises(ValueError):
                client.purge(0, state="running")
            self.assertEqual(client.purge(3600), 0)
            self.assertEqual(client.purge(0, kind="other"), 0)
            self.assertEqual(client.purge(0, state="succeeded", kind="fetch"), 2)
        self.assertEqual(self.cluster.sql("SELECT count(*) FROM jobs"), [(1,)])

    def test_zjob_drain_stops_a_python_worker_after_its_jobs(self):
        worker = self.cluster.start_py_worker("py1", "pyjobs")
        job_id = self.cluster.zjob("submit", "nap", "[1]").stdout.strip()
        self.cluster.wait_for(lambda: self.cluster.sql(
            f"SELECT state FROM jobs WHERE id = {job_id}")[0][0] == "running", 10, "the job")
        from zjob import BlockingClient, Error

        with BlockingClient(self.cluster.clients_ep) as client:
            told = client.drain("py1")
            self.assertEqual((told["name"], told["state"], told["running"]),
                             ("py1", "draining", 1))
            with self.assertRaises(Error) as caught:
                client.drain("nobody")
            self.assertEqual(caught.exception.code, "ENOTFOUND")
        self.assertEqual(worker.wait(15), 0)
        self.assertEqual(self.cluster.sql(f"SELECT state FROM jobs WHERE id = {job_id}"),
                         [("succeeded",)])
        self.assertIn('draining reason="zjob drain"', self.cluster.log("py1"))

    def test_usage_errors_exit_2(self):
        for argv in (["--io-slots", "-1", "pyjobs"], ["--key", "x", "pyjobs"], [],
                     ["--log-level", "loud", "pyjobs"], ["--grace", "30m1h", "pyjobs"]):
            process = subprocess.run([PYTHON, "-m", "zjob.worker", *argv], capture_output=True,
                                     text=True, timeout=20,
                                     env=self.cluster._worker_env())
            self.assertEqual(process.returncode, 2, argv)
            self.assertIn("usage:", process.stderr)


if __name__ == "__main__":
    unittest.main()
