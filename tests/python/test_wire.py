"""The Python codec (python/zjob/_wire.py) against PROTOCOL.md's rules,
and a Python worker facing a coordinator that sends it bad frames."""

import os
import subprocess
import time
import unittest

import msgpack
import zmq

from tests.python.harness import PYTHON, TESTS_DIR, PYTHON_DIR, free_ports
from zjob import _wire


class Codec(unittest.TestCase):
    def test_zero_fields_are_left_out_and_read_back_absent(self):
        frame = _wire.encode("RESULTS", req=3, io_credit=0, jobs=[
            {"id": 1, "state": "succeeded", "result": "", "no_retry": False, "error": None}])
        raw = msgpack.unpackb(frame, raw=False)
        self.assertEqual(raw, {"v": 1, "t": "RESULTS", "req": 3,
                               "jobs": [{"id": 1, "state": "succeeded", "result": ""}]})
        self.assertEqual(_wire.decode(frame), raw)

    def test_bad_frames_are_refused_with_their_code(self):
        cases = [
            (b"\xc1", "EPROTO"),
            (msgpack.packb([1, 2]), "EPROTO"),
            (msgpack.packb({"t": "HELLO"}), "EVERSION"),
            (msgpack.packb({"v": 2, "t": "HELLO"}), "EVERSION"),
            (msgpack.packb({"v": "1", "t": "HELLO"}), "EPROTO"),
            (msgpack.packb({"v": 1}), "EPROTO"),
            (msgpack.packb({"v": 1, "t": "JOBS", "req": True}), "EPROTO"),
            (msgpack.packb({"v": 1, "t": "JOBS", "jobs": [{"id": "7"}]}), "EPROTO"),
            (msgpack.packb({"v": 1, "t": "JOBS", "jobs": {"id": 7}}), "EPROTO"),
            (msgpack.packb({"v": 1, "t": "ACK", "ids": list(range(10001))}), "ETOOBIG"),
            (msgpack.packb({"v": 1, "t": "X", "jobs": [{"started_at": float("nan")}]}),
             "EPROTO"),
        ]
        for data, code in cases:
            with self.assertRaises(_wire.ProtocolError, msg=data[:40]) as caught:
                _wire.decode(data)
            self.assertEqual(_wire.NAMES[caught.exception.code], code, data[:40])

    def test_unknown_keys_and_nil_values_are_ignored(self):
        data = msgpack.packb({"v": 1, "t": "ACK", "ids": [1], "future": {"x": 1},
                              7: "not a string key", "req": None})
        self.assertEqual(_wire.decode(data), {"v": 1, "t": "ACK", "ids": [1], "future": {"x": 1}})

    def test_json_the_coordinator_refuses_is_refused_before_sending(self):
        refused = [float("nan"), float("inf"), {1: "x"}, 2**63, -(2**63) - 1, "a\x00b",
                   "\ud800", {1, 2}, object(), [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
        for value in refused:
            with self.assertRaises((ValueError, TypeError), msg=repr(value)[:40]):
                _wire.to_json(value, 1000)
        self.assertEqual(_wire.to_json({"a": [1, 2.5, None, True, "é"]}, 100),
                         '{"a":[1,2.5,null,true,"é"]}')
        self.assertEqual(_wire.to_json(2**63 - 1, 100), str(2**63 - 1))
        with self.assertRaises(ValueError):
            _wire.to_json("x" * 10, 5)

    def test_job_maps_check_their_options(self):
        job = _wire.job_map("echo", {"a": 1}, timeout=1.5, retries=2, after=[3], delay=0.001)
        self.assertEqual(job["timeout_ms"], 1500)
        self.assertEqual(job["max_attempts"], 3)
        self.assertEqual(job["delay_ms"], 1)
        self.assertEqual(job["args"], '{"a":1}')
        for bad in [dict(kind="bad kind"), dict(kind=""), dict(kind="x" * 65),
                    dict(kind="echo", retries=-1), dict(kind="echo", timeout=-1),
                    dict(kind="echo", timeout="1s"), dict(kind="echo", after=[0]),
                    dict(kind="echo", priority=2**31), dict(kind="echo", retries=True)]:
            with self.assertRaises((ValueError, TypeError), msg=bad):
                _wire.job_map(**bad)


class HostileCoordinator(unittest.TestCase):
    """The test is the coordinator: a ROUTER that answers the worker's
    HELLO with garbage first, then a WELCOME and a job."""

    def setUp(self):
        self.context = zmq.Context()
        self.router = self.context.socket(zmq.ROUTER)
        self.router.linger = 0
        port = free_ports(1)[0]
        self.router.bind(f"tcp://127.0.0.1:{port}")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([PYTHON_DIR, TESTS_DIR]),
                   ZJOB_LOG="info")
        self.worker = subprocess.Popen(
            [PYTHON, "-m", "zjob.worker", "--connect", f"tcp://127.0.0.1:{port}",
             "--name", "hostile", "--cpu-procs", "0", "pyjobs"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.addCleanup(self.stop)

    def stop(self):
        if self.worker.poll() is None:
            self.worker.kill()
        self.worker.wait(10)
        self.router.close()
        self.context.term()

    def receive(self, timeout=10):
        if not self.router.poll(timeout * 1000):
            self.fail("the worker sent nothing")
        identity, data = self.router.recv_multipart()
        return identity, _wire.decode(data)

    def receive_type(self, type_, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, frame = self.receive(timeout)
            if frame["t"] == type_:
                return frame
        self.fail(f"no {type_} came")

    def test_bad_frames_are_logged_and_the_worker_goes_on(self):
        identity, hello = self.receive()
        self.assertEqual(hello["t"], "HELLO")
        self.assertEqual(hello["workers"][0]["kinds"]["fetch"], "io")
        self.assertNotIn("crunch", hello["workers"][0]["kinds"], "no CPU pool, no CPU kind")
        for garbage in [b"", b"\xc1\xc1", msgpack.packb({"v": 9, "t": "JOBS"}),
                        msgpack.packb({"v": 1, "t": "FROB"}),
                        msgpack.packb({"v": 1, "t": "JOBS", "jobs": [{"id": "x"}]})]:
            self.router.send_multipart([identity, garbage])
        self.router.send_multipart([identity, _wire.encode("WELCOME", heartbeat_ms=1000)])
        self.router.send_multipart([identity, _wire.encode(
            "JOBS", jobs=[{"id": 5, "attempts": 1, "kind": "fetch", "args": '"z"'},
                          {"id": 6, "attempts": 1, "kind": "nosuch"}])])
        outcomes = {}
        while len(outcomes) < 2:
            frame = self.receive_type("RESULTS")
            for job in frame["jobs"]:
                outcomes[job["id"]] = job
            self.router.send_multipart([identity, _wire.encode("ACK", ids=[frame["req"]])])
        self.assertEqual(outcomes[5]["result"], '"fetched z"')
        self.assertEqual(outcomes[6]["state"], "failed")
        self.assertTrue(outcomes[6]["no_retry"])
        self.assertEqual(outcomes[6]["error"], "unknown job kind 'nosuch' on this worker")
        self.worker.terminate()
        self.assertEqual(self.worker.wait(15), 0)
        log = self.worker.stderr.read()
        self.assertEqual(log.count("message refused from=coordinator"), 4, log)
        self.assertIn("message ignored type=FROB", log)


if __name__ == "__main__":
    unittest.main()
