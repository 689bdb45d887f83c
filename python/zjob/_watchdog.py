"""The worker's watchdog: a thread that ends the process, naming the job,
when one job holds the event loop past a limit without giving it back.

The blocking detector (asyncio's slow-callback hook) can report a
callback only once it returns; a coroutine that never returns holds the
loop, its heartbeats and every other job for ever. The loop touches a
time stamp every tenth of the limit; the thread checks it, and past the
limit names the task that runs (asyncio keeps it per loop) and exits with
status 70, as zjob-worker --watchdog does: the coordinator counts the
loss against the job, and a supervisor starts the worker again.
"""

import asyncio
import os
import re
import sys
import threading
import time

EXIT = 70
_JOB = re.compile(r"^zjob job (\d+) (.+)$")


class Watchdog:
    def __init__(self, loop, limit_s):
        self.loop = loop
        self.limit_s = limit_s
        self.period_s = limit_s / 10
        self.touched = time.monotonic()
        self.loop.call_soon(self._touch)
        threading.Thread(target=self._watch, name="zjob-watchdog", daemon=True).start()

    def _touch(self):
        self.touched = time.monotonic()
        self.loop.call_later(self.period_s, self._touch)

    def _watch(self):
        while True:
            time.sleep(self.period_s)
            held = time.monotonic() - self.touched
            if held > self.limit_s:
                self._fire(held)

    def _fire(self, held):
        task = asyncio.tasks._current_tasks.get(self.loop)
        match = _JOB.match(task.get_name()) if task is not None else None
        job, kind = match.groups() if match else ("0", "?")
        stamp = time.strftime("%y-%m-%d %H:%M:%S")
        line = (f"E: {stamp} watchdog: loop stuck held_ms={int(held * 1000)} "
                f"limit_ms={int(self.limit_s * 1000)} job={job} kind={kind}; "
                f"exiting status={EXIT}\n")
        try:
            os.write(sys.__stderr__.fileno(), line.encode())
        finally:
            os._exit(EXIT)
