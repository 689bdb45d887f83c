"""zjob.BlockingClient: the asyncio Client for scripts that do not use asyncio.

It runs a Client on a private event loop and blocks on each call, so a
script can submit and wait with plain function calls. Jobs are named by
their ids (ints); results come back as Python values, failures as
zjob.JobFailed or zjob.JobCancelled, as with the asyncio client.
"""

import asyncio

from zjob.client import Client


class BlockingClient:
    """A blocking zjob client; use `with BlockingClient() as c`.

    Takes the arguments of zjob.Client (endpoint, key, coordinator_key,
    reply_timeout). Not for use from inside a running event loop.
    """

    def __init__(self, endpoint=None, key=None, coordinator_key=None, *,
                 reply_timeout=10.0):
        self._loop = asyncio.new_event_loop()
        self._client = None
        self._args = (endpoint, key, coordinator_key)
        self._reply_timeout = reply_timeout

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()

    def _run(self, awaitable):
        return self._loop.run_until_complete(awaitable)

    def open(self):
        """Connects (the Client's sockets belong to the private loop)."""
        if self._client is None:
            async def make():
                return await Client(*self._args,
                                    reply_timeout=self._reply_timeout).open()

            self._client = self._run(make())
        return self

    def close(self):
        """Closes the client and its loop; jobs go on in the coordinator."""
        if self._loop.is_closed():
            return
        if self._client is not None:
            self._run(self._client.close())
            self._client = None
        self._loop.close()

    @property
    def endpoint(self):
        return self._args[0] if self._client is None else self._client.endpoint

    def submit(self, kind, args=None, **options):
        """Submits one job (options as Client.submit); returns its id."""
        future = self._run(self._client.submit(kind, args, **options))
        future._forget()
        return future.id

    def submit_many(self, specs):
        """Submits many jobs (specs as Client.submit_many); their ids."""
        futures = self._run(self._client.submit_many(specs))
        for future in futures:
            future._forget()
        return [future.id for future in futures]

    def wait(self, job_id, timeout=None):
        """Blocks until job_id ends; its result, or raises JobFailed,
        JobCancelled, or TimeoutError after timeout seconds."""
        return self.gather([job_id], timeout)[0]

    def gather(self, job_ids, timeout=None):
        """Blocks until every job ends; their results in order. Raises the
        first failure in order (JobFailed, JobCancelled, zjob Error), or
        TimeoutError after timeout seconds."""

        async def wait_all():
            futures = [self._client.future(job_id) for job_id in job_ids]
            try:
                return await asyncio.wait_for(asyncio.gather(*futures), timeout)
            finally:
                for future in futures:
                    if not future.done():
                        future.cancel()
                    elif not future.cancelled():
                        future.exception()  # Retrieved: no "never retrieved" log

        return self._run(wait_all())

    def status(self, job_id):
        """The job's full record (a dict of the wire's job fields)."""
        return self._run(self._client.status(job_id))

    def cancel(self, job_id):
        """Cancels the job; the CANCEL entry (id, state, error)."""
        return self._run(self._client.cancel(job_id))

    def jobs(self, state=None, limit=0, parent=None):
        """Job records, newest first (see Client.jobs)."""
        return self._run(self._client.jobs(state, limit, parent))

    def workers(self, forget=False):
        """The workers the coordinator knows, as dicts (see Client.workers)."""
        return self._run(self._client.workers(forget))

    def purge(self, older_than, state=None, kind=None):
        """Deletes old final jobs (see Client.purge); how many it deleted."""
        return self._run(self._client.purge(older_than, state, kind))

    def drain(self, name):
        """Asks worker name to drain (see Client.drain)."""
        return self._run(self._client.drain(name))

    def limit(self, kind, concurrency=None, rate=None, clear=False):
        """Sets kind's limits (see Client.limit)."""
        return self._run(self._client.limit(kind, concurrency, rate, clear))

    def limits(self):
        """Every kind's limits (see Client.limits)."""
        return self._run(self._client.limits())

    def logs(self, job_id):
        """The text the job's attempts wrote."""
        return self._run(self._client.logs(job_id))
