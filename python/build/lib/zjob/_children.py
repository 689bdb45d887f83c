"""Jobs that await jobs, on the worker's side: SPAWN and AWAIT for the
running I/O jobs (PROTOCOL.md, "Jobs that await jobs").

A parent's calls are numbered 1, 2, ... in the order it makes them, so a
parent that runs again gets the same children back. Requests are numbered
from 2**62, apart from the RESULTS batches, kept until answered, and sent
again after each WELCOME. A parent has one AWAIT at a time: it names every
child somebody waits for and that has no outcome yet, and is replaced when
that set grows. Unless the worker has max_suspended parents waiting
already, the parent's I/O slot is free until the AWAIT's DONE.
"""

import asyncio

from zjob import _log, _wire
from zjob.errors import Error
from zjob.future import Future

REQ_BASE = 2**62
_NEVER_AWAITED_LINES = 10


class Parent:
    """A running I/O job's sub-jobs: the owner of its children's futures."""

    def __init__(self, calls, job_id, attempt):
        self.calls = calls
        self.id = job_id
        self.attempt = attempt
        self.call_count = 0
        self.children = []
        self.watching = {}  #  child id -> [futures]
        self.await_req = None
        self.suspended = False
        self.await_due = False

    async def spawn(self, maps):
        """SPAWN children (job maps) and wait for their ids: futures."""
        for job in maps:
            self.call_count += 1
            job["parent"] = self.id
            job["call"] = self.call_count
        reply = asyncio.get_running_loop().create_future()
        self.calls.request("SPAWN", {"jobs": maps}, reply, self)
        ids = await reply
        futures = [Future(job_id, self, job["kind"]) for job_id, job in zip(ids, maps)]
        self.children.extend(futures)
        return futures

    def _watch(self, future):
        """A child somebody waits for: into the parent's next AWAIT."""
        self.watching.setdefault(future.id, []).append(future)
        if not self.await_due:
            self.await_due = True
            asyncio.get_running_loop().call_soon(self.send_await)

    def send_await(self):
        """Sends (or replaces) this parent's AWAIT for what it waits for."""
        self.await_due = False
        if self.calls is None:
            return
        self.calls.drop(self.await_req)
        self.await_req = None
        if not self.watching:
            self._resume()
            return
        hold = not self.suspended and self.calls.suspended >= self.calls.max_suspended
        if not hold and not self.suspended:
            self.suspended = True
            self.calls.suspended += 1
        fields = {"parent": self.id, "ids": sorted(self.watching), "hold": hold}
        self.await_req = self.calls.request("AWAIT", fields, None, self)

    def _resume(self):
        if self.suspended:
            self.suspended = False
            self.calls.suspended -= 1

    def resolved(self, records):
        for record in records:
            for future in self.watching.pop(record.get("id"), ()):
                future._settle(record)

    def done(self, req):
        if req != self.await_req:
            return
        self.calls.drop(req)
        self.await_req = None
        self._resume()
        if self.watching:
            self.send_await()

    def failed(self, req, error):
        """An ERROR for one of this parent's requests."""
        if req == self.await_req:
            self.await_req = None
            self._resume()
            watching, self.watching = self.watching, {}
            for futures in watching.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(error)

    def end(self):
        """The job ended: drops its requests, names children never awaited."""
        self.calls.drop(self.await_req)
        self.calls.forget(self)
        self._resume()
        never = [child for child in self.children if not child._watched]
        for child in never[:_NEVER_AWAITED_LINES]:
            _log.warning(f"never awaited parent={self.id} child={child.id} kind={child.kind}")
        if len(never) > _NEVER_AWAITED_LINES:
            _log.warning(f"never awaited parent={self.id} children={len(never)} "
                         f"(the first {_NEVER_AWAITED_LINES} are named above)")
        for child in self.children:
            child._forget()
        self.calls = None


class _Request:
    def __init__(self, req, type_, fields, reply, parent):
        self.req = req
        self.type = type_
        self.fields = fields
        self.reply = reply
        self.parent = parent

    def frame(self):
        return _wire.encode(self.type, req=self.req, **self.fields)


class Calls:
    """Every parent's requests in flight, by req."""

    def __init__(self, send, max_suspended):
        self.send = send
        self.max_suspended = max_suspended
        self.suspended = 0
        self.last_req = REQ_BASE
        self.by_req = {}
        self.welcomed = False

    def request(self, type_, fields, reply, parent):
        self.last_req += 1
        request = _Request(self.last_req, type_, fields, reply, parent)
        self.by_req[request.req] = request
        if self.welcomed:
            self.send(request.frame())
        return request.req

    def drop(self, req):
        if req is not None:
            self.by_req.pop(req, None)

    def forget(self, parent):
        for req in [req for req, request in self.by_req.items() if request.parent is parent]:
            request = self.by_req.pop(req)
            if request.reply is not None and not request.reply.done():
                request.reply.cancel()

    def resend_all(self):
        """After a WELCOME: every SPAWN again, every AWAIT anew."""
        parents = []
        for request in list(self.by_req.values()):
            if request.type == "SPAWN":
                self.send(request.frame())
            elif request.parent not in parents:
                parents.append(request.parent)
        for parent in parents:
            parent.send_await()

    def reply(self, frame):
        """Takes a reply to one of our requests; False if it is not one."""
        req = frame.get("req", 0)
        if req <= REQ_BASE:
            return False
        request = self.by_req.get(req)
        if request is None:
            return True  #  A replaced AWAIT's, or an ended parent's
        kind = frame["t"]
        if kind == "SPAWNED" and request.type == "SPAWN":
            self.by_req.pop(req)
            if not request.reply.done():
                request.reply.set_result(frame.get("ids", []))
        elif kind == "RESOLVED":
            request.parent.resolved(frame.get("jobs", []))
        elif kind == "DONE":
            request.parent.done(req)
        elif kind == "ERROR":
            self.by_req.pop(req)
            error = Error(frame.get("code", 0), frame.get("reason", ""))
            if request.reply is not None:
                if not request.reply.done():
                    request.reply.set_exception(error)
            else:
                request.parent.failed(req, error)
        return True
