"""The exceptions of zjob, shared by the client and the worker."""

import json

from zjob._wire import CODES, NAMES


class Error(Exception):
    """A call zjob refused or could not make: code names why.

    code is one of zjob's error names ("ENOTFOUND", "EUNREACH", ...), as
    proto/PROTOCOL.md lists them; number is its value on the wire.
    """

    def __init__(self, code, reason):
        if isinstance(code, int):
            code = NAMES.get(code, str(code))
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.number = CODES.get(code, 0)
        self.reason = reason


class Unreachable(Error):
    """The coordinator did not answer in time (EUNREACH)."""

    def __init__(self, reason):
        super().__init__("EUNREACH", reason)


class JobError(Exception):
    """A job that ended without a result: its record says why.

    id, state ("failed" or "cancelled"), error (the job's one-line error),
    result (what a failing job may still have returned, or None),
    attempts and worker.
    """

    def __init__(self, record):
        self.id = record.get("id", 0)
        self.state = record.get("state", "")
        self.error = record.get("error", "")
        self.result = _result_of(record)
        self.attempts = record.get("attempts", 0)
        self.worker = record.get("worker", "")
        super().__init__(f"job {self.id} {self.state}: {self.error}")


class JobFailed(JobError):
    """A job that ended failed."""


class JobCancelled(JobError):
    """A job that ended cancelled (by a cancel, a parent, a dependency)."""


def _result_of(record):
    text = record.get("result")
    try:
        return json.loads(text) if text is not None else None
    except ValueError:
        return text


class FailedFinal(Exception):
    """Raised by a handler for an error a retry cannot fix: the job fails
    at once even if attempts remain."""


def job_error(record):
    """The exception for a failed or cancelled record."""
    if record.get("state") == "cancelled":
        return JobCancelled(record)
    return JobFailed(record)
