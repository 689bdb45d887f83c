"""zjob.Client and zjob.BlockingClient against a real coordinator and a
real C worker (bin/zjob-worker: echo, sleep, sha256, exec with
--allow-exec), over real sockets. Every await is bounded by wait_for."""

import asyncio
import gc
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (puts <repo>/python on sys.path)

from zjob.blocking import BlockingClient  # noqa: E402
from zjob.client import Client  # noqa: E402
from zjob.errors import Error, JobCancelled, JobFailed, Unreachable  # noqa: E402
from zjob.future import Future  # noqa: E402
import zjob.jobs  # noqa: E402

LIMIT = 30  # Seconds any one step of a test may take


def bounded(awaitable, limit=LIMIT):
    return asyncio.wait_for(awaitable, limit)


class AsyncTest(unittest.IsolatedAsyncioTestCase):
    """Tests run the loop in debug mode, and the harness blocks it at
    times (starting processes): no "slow callback" lines for that."""

    async def asyncSetUp(self):
        asyncio.get_running_loop().slow_callback_duration = 5


class SharedCluster(AsyncTest):
    """One coordinator and one C worker for the tests that leave them be."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = harness.Cluster.started(lambda cluster: (
            cluster.start_coordinator(), cluster.start_c_worker("w1", "--allow-exec")))

    @classmethod
    def tearDownClass(cls):
        cls.cluster.close()

    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.client = await self.cluster.client().open()
        self.addAsyncCleanup(self.client.close)


class TestSubmitAndAwait(SharedCluster):
    async def test_submit_and_await(self):
        fut = await bounded(self.client.submit("echo", {"x": [1, 2.5, "é"]}))
        self.assertIsInstance(fut, Future)
        self.assertGreater(fut.id, 0)
        self.assertEqual(await bounded(fut), {"x": [1, 2.5, "é"]})
        self.assertEqual(fut.record["state"], "succeeded")
        self.assertEqual(fut.record["worker"], "w1")

    async def test_no_args_is_null(self):
        fut = await bounded(self.client.submit("echo"))
        self.assertIsNone(await bounded(fut))

    async def test_gather_many_in_few_awaits(self):
        specs = [("echo", {"n": n}) for n in range(1500)]
        specs += [{"kind": "echo", "args": n, "priority": 1} for n in range(500)]
        futs = await bounded(self.client.submit_many(specs))
        self.assertEqual(len(futs), 2000)
        self.assertEqual(len({fut.id for fut in futs}), 2000)
        requests_before = self.client._last_req
        results = await bounded(asyncio.gather(*futs))
        self.assertEqual(results[:1500], [{"n": n} for n in range(1500)])
        self.assertEqual(results[1500:], list(range(500)))
        #  2000 futures watched in one turn: one AWAIT, not 2000.
        self.assertEqual(self.client._last_req - requests_before, 1)

    async def test_failing_job_raises_job_failed(self):
        fut = await bounded(self.client.submit("sleep", {"seconds": -1}))
        with self.assertRaises(JobFailed) as caught:
            await bounded(fut)
        self.assertIn("sleep takes", caught.exception.error)
        self.assertEqual(caught.exception.id, fut.id)
        self.assertEqual(caught.exception.state, "failed")

    async def test_cancel_raises_job_cancelled(self):
        fut = await bounded(self.client.submit("sleep", {"seconds": 60}))
        waiter = asyncio.gather(fut)
        await asyncio.sleep(0.1)  # Its AWAIT goes out before the CANCEL
        entry = await bounded(self.client.cancel(fut))
        self.assertEqual(entry["id"], fut.id)
        self.assertEqual(entry["state"], "cancelled")
        with self.assertRaises(JobCancelled):
            await bounded(waiter)
        #  Cancelling a finished job leaves it as it is.
        done = await bounded(self.client.submit("echo", 1))
        await bounded(done)
        entry = await bounded(self.client.cancel(done.id))
        self.assertEqual(entry["state"], "succeeded")

    async def test_options_reach_the_record(self):
        fut = await bounded(self.client.submit(
            "echo", [], timeout=5, retries=2, backoff=0.5, priority=-3, delay=0.2))
        started = time.monotonic()
        await bounded(fut)
        self.assertGreaterEqual(time.monotonic() - started, 0.1)
        record = await bounded(self.client.status(fut))
        self.assertEqual(record["max_attempts"], 3)
        self.assertEqual(record["timeout_ms"], 5000)
        self.assertEqual(record["backoff_ms"], 500)
        self.assertEqual(record["priority"], -3)

    async def test_timeout_fails_the_job(self):
        fut = await bounded(self.client.submit("sleep", {"seconds": 10}, timeout=0.2))
        with self.assertRaises(JobFailed) as caught:
            await bounded(fut)
        self.assertIn("timeout", caught.exception.error)

    async def test_after_a_failed_job_is_cancelled(self):
        first = await bounded(self.client.submit("sleep", {"seconds": "x"}))
        second = await bounded(self.client.submit("echo", 2, after=[first]))
        results = await bounded(asyncio.gather(first, second, return_exceptions=True))
        self.assertIsInstance(results[0], JobFailed)
        self.assertIsInstance(results[1], JobCancelled)
        self.assertIn(str(first.id), results[1].error)

    async def test_after_an_unknown_job_is_refused(self):
        with self.assertRaises(Error) as caught:
            await bounded(self.client.submit("echo", 1, after=[987654321]))
        self.assertEqual(caught.exception.code, "ENOTFOUND")

    async def test_as_completed_yields_in_finish_order(self):
        slow = await bounded(self.client.submit("sleep", {"seconds": 0.5}))
        fast = await bounded(self.client.submit("echo", "fast"))
        seen = [fut async for fut in self.client.as_completed([slow, fast], timeout=LIMIT)]
        self.assertEqual(seen, [fast, slow])
        self.assertEqual(fast.result(), "fast")

    async def test_as_completed_times_out_after_yielding_the_done(self):
        futs = await bounded(self.client.submit_many(
            [("echo", 1), ("echo", 2), ("sleep", {"seconds": 60})]))
        seen = []
        started = time.monotonic()
        with self.assertRaises(TimeoutError):
            async for fut in self.client.as_completed(futs, timeout=1.0):
                seen.append(fut)
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(sorted(fut.result() for fut in seen), [1, 2])
        await bounded(self.client.cancel(futs[2]))
        with self.assertRaises(JobCancelled):
            await bounded(futs[2])


class TestQueries(SharedCluster):
    async def test_status(self):
        fut = await bounded(self.client.submit("echo", {"s": 1}))
        await bounded(fut)
        record = await bounded(self.client.status(fut.id))
        self.assertEqual(record["id"], fut.id)
        self.assertEqual(record["kind"], "echo")
        self.assertEqual(record["args"], '{"s":1}')
        self.assertEqual(record["state"], "succeeded")
        records = await bounded(self.client.status([fut, fut.id]))
        self.assertEqual([r["id"] for r in records], [fut.id, fut.id])

    async def test_status_in_parts(self):
        big = "y" * (900 * 1024)
        futs = await bounded(self.client.submit_many([("echo", big)] * 12))
        await bounded(asyncio.gather(*futs))
        records = await bounded(self.client.status(futs))  # ~21 MiB: in parts
        self.assertEqual([r["id"] for r in records], [f.id for f in futs])
        self.assertTrue(all(r["result"] == f'"{big}"' for r in records))

    async def test_jobs(self):
        futs = await bounded(self.client.submit_many([("echo", n) for n in range(3)]))
        await bounded(asyncio.gather(*futs))
        rows = await bounded(self.client.jobs(state="succeeded", limit=3))
        self.assertEqual([r["id"] for r in rows], [f.id for f in reversed(futs)])
        rows = await bounded(self.client.jobs(limit=1))
        self.assertEqual(len(rows), 1)
        with self.assertRaises(ValueError):
            await self.client.jobs(state="bogus")

    async def test_jobs_of_a_parent(self):
        fut = await bounded(self.client.submit(
            "map", {"kind": "echo", "items": ["a", "b", "c"]}))
        self.assertEqual(await bounded(fut), {"results": ["a", "b", "c"]})
        children = await bounded(self.client.jobs(parent=fut))
        self.assertEqual(sorted(c["args"] for c in children), ['"a"', '"b"', '"c"'])
        self.assertTrue(all(c["parent"] == fut.id for c in children))

    async def test_package_exports(self):
        import zjob

        self.assertIs(zjob.Client, Client)
        self.assertIs(zjob.BlockingClient, BlockingClient)
        self.assertIs(zjob.Future, Future)

    async def test_workers(self):
        workers = await bounded(self.client.workers())
        mine = [w for w in workers if w["name"] == "w1"]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["state"], "connected")
        self.assertEqual(mine[0]["kinds"]["echo"], "io")
        self.assertEqual(mine[0]["kinds"]["sha256"], "cpu")

    async def test_limits(self):
        with self.assertRaises(ValueError):
            await self.client.limit("nobody.limits", concurrency=-1)
        with self.assertRaises(ValueError):
            await self.client.limit("nobody.limits", rate=0)
        with self.assertRaises(ValueError):
            await self.client.limit("bad kind", concurrency=1)
        paused = await bounded(self.client.limit("nobody.limits", concurrency=0))
        self.assertEqual(paused["kind"], "nobody.limits")
        self.assertEqual(paused["concurrency"], 0)
        both = await bounded(self.client.limit("nobody.limits", rate=2.5))
        self.assertEqual((both["concurrency"], both["rate"]), (0, 2.5))
        listed = [limit for limit in await bounded(self.client.limits())
                  if limit["kind"] == "nobody.limits"]
        self.assertEqual(len(listed), 1)
        cleared = await bounded(self.client.limit("nobody.limits", clear=True))
        self.assertNotIn("concurrency", cleared)
        self.assertNotIn("rate", cleared)
        self.assertEqual([limit for limit in await bounded(self.client.limits())
                          if limit["kind"] == "nobody.limits"], [])

    async def test_logs(self):
        fut = await bounded(self.client.submit(
            "exec", {"argv": ["sh", "-c", "echo hello from exec"]}))
        await bounded(fut)
        text = await bounded(self.client.logs(fut))
        self.assertIn("hello from exec", text)
        quiet = await bounded(self.client.submit("echo", 1))
        await bounded(quiet)
        self.assertEqual(await bounded(self.client.logs(quiet.id)), "")

    async def test_cpu_job(self):
        fut = await bounded(self.client.submit("sha256", {"data": "abc"}))
        result = await bounded(fut)
        self.assertIn(
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            str(result))

    async def test_future_reattach(self):
        fut = await bounded(self.client.submit("sleep", {"seconds": 0.3}))
        fut._forget()
        async with self.cluster.client() as other:
            again = other.future(fut.id)
            twice = other.future(fut.id)
            results = await bounded(asyncio.gather(again, twice))
        self.assertEqual(results, [{"slept": 0.3}] * 2)
        with self.assertRaises(ValueError):
            self.client.future(0)

    async def test_unknown_ids_fail_alone(self):
        good = await bounded(self.client.submit_many([("echo", n) for n in range(5)]))
        bad = [self.client.future(987654321), self.client.future(987654322)]
        mixed = [good[0], bad[0], good[1], good[2], bad[1], good[3], good[4]]
        results = await bounded(asyncio.gather(*mixed, return_exceptions=True))
        self.assertEqual([results[i] for i in (0, 2, 3, 5, 6)], [0, 1, 2, 3, 4])
        for error in (results[1], results[4]):
            self.assertIsInstance(error, Error)
            self.assertEqual(error.code, "ENOTFOUND")

    async def test_unknown_id_in_calls(self):
        for call in (self.client.status, self.client.cancel, self.client.logs):
            with self.assertRaises(Error) as caught:
                await bounded(call(987654321))
            self.assertEqual(caught.exception.code, "ENOTFOUND")

    async def test_bad_args_raise_before_sending(self):
        bad = [
            (ValueError, ("echo", float("nan"))),
            (ValueError, ("echo", {"x": float("inf")})),
            (TypeError, ("echo", object())),
            (TypeError, ("echo", {"s": {1, 2}})),
            (ValueError, ("echo", {1: "key not a string"})),
            (ValueError, ("echo", "nul\x00byte")),
            (ValueError, ("echo", 2**64)),
            (ValueError, ("no spaces", 1)),
            (ValueError, ("", 1)),
        ]
        deep = []
        for _ in range(40):
            deep = [deep]
        bad.append((ValueError, ("echo", deep)))
        for error, (kind, args) in bad:
            with self.subTest(kind=kind, args=repr(args)[:40]):
                with self.assertRaises(error):
                    await self.client.submit(kind, args)
                with self.assertRaises(error):
                    await self.client.submit_many([("echo", 1), (kind, args)])
        with self.assertRaises(ValueError):
            await self.client.submit("echo", 1, timeout=-1)
        with self.assertRaises(ValueError):
            await self.client.submit("echo", 1, retries=-1)
        self.assertEqual(self.client._last_req, 0)

    async def test_never_awaited_future_warns(self):
        fut = await bounded(self.client.submit("echo", 1))
        with self.assertWarns(RuntimeWarning) as caught:
            del fut
            gc.collect()
        self.assertIn("never awaited", str(caught.warning))

    async def test_close_cancels_waiting(self):
        fut = await bounded(self.client.submit("sleep", {"seconds": 60}))
        waiter = asyncio.gather(fut)  # Watches it now
        await asyncio.sleep(0.1)
        await bounded(self.client.close())
        with self.assertRaises(asyncio.CancelledError):
            await bounded(waiter)
        with self.assertRaises(Error):
            await self.client.workers()
        async with self.cluster.client() as other:
            await bounded(other.cancel(fut.id))


class TestUnique(SharedCluster):
    async def test_bad_unique_raises_before_sending(self):
        for unique, unique_for, error in (
                ("", None, ValueError), ("k" * 257, None, ValueError),
                ("a\nb", None, ValueError), (7, None, TypeError),
                ("k", 0, ValueError), ("k", 367 * 86400, ValueError),
                (None, 60, ValueError)):
            with self.subTest(unique=repr(unique)[:20], unique_for=unique_for):
                with self.assertRaises(error):
                    await self.client.submit("echo", 1, unique=unique,
                                             unique_for=unique_for)
                with self.assertRaises(error):
                    await self.client.submit_many([
                        {"kind": "echo", "unique": unique,
                         "unique_for": unique_for}])
        self.assertEqual(self.client._last_req, 0)

    async def test_a_key_gives_the_same_job(self):
        key = f"py-unique-{time.monotonic_ns()}"
        first = await bounded(self.client.submit("echo", 1, unique=key))
        again = await bounded(self.client.submit("echo", 2, unique=key,
                                                 unique_for=3600))
        self.assertEqual(again.id, first.id)
        futures = await bounded(self.client.submit_many([
            {"kind": "echo", "args": 3, "unique": key + "-b"},
            ("echo", 4),
            {"kind": "echo", "args": 5, "unique": key + "-b"},
            {"kind": "echo", "args": 6, "unique": key}]))
        self.assertEqual(futures[2].id, futures[0].id)
        self.assertEqual(futures[3].id, first.id)
        self.assertEqual(await bounded(asyncio.gather(*futures)), [3, 4, 3, 1])
        self.assertEqual(await bounded(again), 1)
        await bounded(first)

    async def test_a_key_after_its_window_makes_a_new_job(self):
        key = f"py-window-{time.monotonic_ns()}"
        first = await bounded(self.client.submit("echo", 1, unique=key,
                                                 unique_for=0.05))
        await bounded(first)
        await asyncio.sleep(0.2)
        later = await bounded(self.client.submit("echo", 2, unique=key))
        self.assertNotEqual(later.id, first.id)
        self.assertEqual(await bounded(later), 2)

    async def test_a_child_takes_no_key(self):
        with self.assertRaises(ValueError):
            await zjob.jobs.submit("echo", 1, unique="k")
        with self.assertRaises(ValueError):
            await zjob.jobs.submit_many([{"kind": "echo", "unique": "k"}])

    def test_blocking_unique(self):
        key = f"py-blocking-{time.monotonic_ns()}"
        with BlockingClient(self.cluster.clients_ep) as client:
            job = client.submit("echo", 1, unique=key)
            self.assertEqual(client.submit("echo", 2, unique=key), job)
            self.assertEqual(client.submit_many(
                [{"kind": "echo", "unique": key}]), [job])


class TestBlocking(SharedCluster):
    def test_blocking_facade(self):
        with BlockingClient(self.cluster.clients_ep) as client:
            job = client.submit("echo", {"b": 1})
            self.assertIsInstance(job, int)
            self.assertEqual(client.wait(job, timeout=LIMIT), {"b": 1})
            ids = client.submit_many([("echo", n) for n in range(50)])
            self.assertEqual(client.gather(ids, timeout=LIMIT), list(range(50)))
            self.assertEqual(client.status(job)["state"], "succeeded")
            self.assertTrue(any(w["name"] == "w1" for w in client.workers()))
            failing = client.submit("sleep", {"seconds": "no"})
            with self.assertRaises(JobFailed):
                client.wait(failing, timeout=LIMIT)
            slow = client.submit("sleep", {"seconds": 60})
            with self.assertRaises(TimeoutError):
                client.wait(slow, timeout=0.3)
            self.assertEqual(client.cancel(slow)["state"], "cancelled")
            with self.assertRaises(JobCancelled):
                client.wait(slow, timeout=LIMIT)
            with self.assertRaises(Error):
                client.status(987654321)


class TestUnreachable(AsyncTest):
    async def test_nobody_listening(self):
        port = harness.free_ports(1)[0]
        async with Client(f"tcp://127.0.0.1:{port}", reply_timeout=0.5) as client:
            started = time.monotonic()
            with self.assertRaises(Unreachable) as caught:
                await bounded(client.workers(), 5)
            self.assertLess(time.monotonic() - started, 2)
            self.assertEqual(caught.exception.code, "EUNREACH")
            with self.assertRaises(Unreachable):
                await bounded(client.submit("echo", 1), 5)

    async def test_a_timed_out_submit_is_never_delivered(self):
        with harness.Cluster() as cluster:
            async with cluster.client(reply_timeout=0.5) as client:
                with self.assertRaises(Unreachable):
                    await bounded(client.submit("echo", 1), 5)
                cluster.start_coordinator()
                await bounded(client.workers())
                self.assertEqual(await bounded(client.jobs()), [])

    def test_bad_endpoint(self):
        async def run():
            async with Client("nonsense://x"):
                pass

        with self.assertRaises(Error):
            asyncio.run(run())

    def test_blocking_unreachable(self):
        port = harness.free_ports(1)[0]
        with BlockingClient(f"tcp://127.0.0.1:{port}", reply_timeout=0.3) as client:
            with self.assertRaises(Unreachable):
                client.workers()


class TestRestart(AsyncTest):
    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.cluster = harness.Cluster()
        self.addCleanup(self.cluster.close)
        self.cluster.start_coordinator()
        self.cluster.start_c_worker("w1")

    async def test_await_survives_a_restart(self):
        async with self.cluster.client() as client:
            fut = await bounded(client.submit("sleep", {"seconds": 1.5}))
            quick = await bounded(client.submit("sleep", {"seconds": 0.1}))
            waiter = asyncio.ensure_future(asyncio.gather(fut, quick))
            await asyncio.sleep(0.3)
            self.cluster.stop_coordinator()
            await asyncio.sleep(0.5)
            self.assertFalse(waiter.done())
            self.cluster.start_coordinator()
            results = await bounded(waiter)
            self.assertEqual(results[0], {"slept": 1.5})
            self.assertEqual(results[1], {"slept": 0.1})

    async def test_requests_wait_for_a_restart(self):
        async with self.cluster.client(reply_timeout=10) as client:
            await bounded(client.workers())
            self.cluster.stop_coordinator()
            submit = asyncio.ensure_future(client.submit("echo", "late"))
            workers = asyncio.ensure_future(client.workers())
            await asyncio.sleep(0.5)
            self.cluster.start_coordinator()
            fut = await bounded(submit)
            self.assertEqual(await bounded(fut), "late")
            self.assertTrue(await bounded(workers))
            self.assertEqual(len(await bounded(client.jobs())), 1)

    async def test_killed_coordinator(self):
        async with self.cluster.client() as client:
            fut = await bounded(client.submit("sleep", {"seconds": 1}))
            waiter = asyncio.gather(fut)
            await asyncio.sleep(0.2)
            self.cluster.stop_coordinator(harness.signal.SIGKILL)
            self.cluster.start_coordinator()
            self.assertEqual(await bounded(waiter), [{"slept": 1}])


class TestCurve(AsyncTest):
    def setUp(self):
        self.cluster = harness.Cluster()
        self.addCleanup(self.cluster.close)
        base = self.cluster.dir
        for name in ("coord", "w1", "good", "bad"):
            done = self.cluster.zjob("keygen", name)
            self.assertEqual(done.returncode, 0, done.stderr)
        for folder, key in (("w", "w1"), ("c", "good")):
            os.mkdir(os.path.join(base, folder), 0o755)
            os.chmod(os.path.join(base, folder), 0o755)
            shutil.copy(os.path.join(base, f"{key}.key"), os.path.join(base, folder))
        self.path = lambda name: os.path.join(base, name)
        self.cluster.start_coordinator(
            "--key", self.path("coord.key_secret"),
            "--worker-keys", self.path("w"), "--client-keys", self.path("c"))
        self.cluster.start_c_worker(
            "w1", "--key", self.path("w1.key_secret"),
            "--coordinator-key", self.path("coord.key"))

    async def test_admitted_key_works(self):
        client = Client(self.cluster.clients_ep, self.path("good.key_secret"),
                        self.path("coord.key"))
        async with client:
            fut = await bounded(client.submit("echo", "secret"))
            self.assertEqual(await bounded(fut), "secret")

    async def test_key_from_environment(self):
        env = {"ZJOB_KEY": self.path("good.key_secret"),
               "ZJOB_COORDINATOR_KEY": self.path("coord.key"),
               "ZJOB_COORDINATOR": self.cluster.clients_ep}
        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        try:
            async with Client() as client:
                self.assertTrue(await bounded(client.workers()))
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    async def test_refused_key_is_unreachable(self):
        client = Client(self.cluster.clients_ep, self.path("bad.key_secret"),
                        self.path("coord.key"), reply_timeout=1.0)
        async with client:
            with self.assertRaises(Unreachable) as caught:
                await bounded(client.workers(), 5)
        self.assertIn("CURVE", str(caught.exception))

    async def test_no_key_is_unreachable(self):
        async with Client(self.cluster.clients_ep, reply_timeout=1.0) as client:
            with self.assertRaises(Unreachable):
                await bounded(client.workers(), 5)

    def test_key_errors(self):
        async def open_with(key, coordinator_key):
            async with Client(self.cluster.clients_ep, key, coordinator_key):
                pass

        with self.assertRaises(Error):  # One without the other
            asyncio.run(open_with(self.path("good.key_secret"), ""))
        os.chmod(self.path("good.key_secret"), 0o644)
        with self.assertRaises(Error) as caught:
            asyncio.run(open_with(self.path("good.key_secret"), self.path("coord.key")))
        self.assertEqual(caught.exception.code, "EDENIED")


if __name__ == "__main__":
    unittest.main()
