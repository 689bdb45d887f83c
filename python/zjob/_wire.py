"""The wire protocol of proto/PROTOCOL.md: frames, fields, limits, codes.

One ZeroMQ frame is one msgpack map with "v" (1) and "t" (the type).
Fields that are zero, false, empty or None are left out, and read back as
absent. Job args and results travel as JSON text, checked here against the
coordinator's rules before they are sent, so that it never has to refuse
them. This module knows the bytes; nothing else in the package does.
"""

import json
import math

import msgpack

VERSION = 1

MAX_FRAME = 32 * 1024 * 1024
MAX_BATCH = 10000
MAX_KIND = 64
MAX_ARGS = 1024 * 1024
MAX_RESULT = 4 * 1024 * 1024
MAX_TEXT = 4096
MAX_KINDS = 256
MAX_DEPTH = 32
MAX_TOKEN = 64
MAX_AFTER = 1000
MAX_CONCURRENCY = 1000000
MAX_RATE = 1000000.0
MIN_RATE = 1.0 / 86400
MAX_UNIQUE = 256
MAX_UNIQUE_FOR_MS = 366 * 24 * 3600 * 1000
MAX_PROGRESS_TEXT = 256
MAX_LOG = 4 * 1024 * 1024

#  Error codes, as common/err.h numbers them.
CODES = {
    "EPROTO": -999,
    "EVERSION": -998,
    "ETOOBIG": -997,
    "ETYPE": -996,
    "EKIND": -995,
    "EARGS": -994,
    "EJSON": -993,
    "ENOTFOUND": -992,
    "ESTATE": -991,
    "ESTORE": -990,
    "ESEND": -989,
    "EUNREACH": -988,
    "ETIMEOUT": -987,
    "ECANCELLED": -986,
    "ECRASH": -985,
    "ENOMEM": -984,
    "EUSAGE": -983,
    "ESYS": -982,
    "EDENIED": -981,
    "EINUSE": -980,
}
NAMES = {code: name for name, code in CODES.items()}

STATES = ("queued", "running", "succeeded", "failed", "cancelled")
FINAL = ("succeeded", "failed", "cancelled")

_KIND_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-"
)
_INT64 = (-(2**63), 2**63 - 1)


class ProtocolError(Exception):
    """A frame that breaks the protocol's rules, with the code it earns."""

    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code
        self.reason = reason


#  The msgpack type of each known key, by the tables of PROTOCOL.md.
_INT, _FLOAT, _STR, _BOOL = "int", "float", "str", "bool"
_FRAME_FIELDS = {
    "req": _INT,
    "in_order": _BOOL,
    "timed_out": _BOOL,
    "more": _BOOL,
    "draining": _BOOL,
    "timeout_ms": _INT,
    "state": _STR,
    "limit": _INT,
    "heartbeat_ms": _INT,
    "max_message": _INT,
    "max_result": _INT,
    "io_credit": _INT,
    "cpu_credit": _INT,
    "code": _INT,
    "reason": _STR,
    "parent": _INT,
    "hold": _BOOL,
    "forget": _BOOL,
    "clear": _BOOL,
    "token": _STR,
    "older_than_ms": _INT,
    "kind": _STR,
    "count": _INT,
    "op": _STR,
    "replace": _BOOL,
    "stats": _STR,
    "worker": _STR,
    "since_ms": _INT,
    "before": _INT,
}
_JOB_FIELDS = {
    "id": _INT,
    "kind": _STR,
    "args": _STR,
    "state": _STR,
    "priority": _INT,
    "attempts": _INT,
    "max_attempts": _INT,
    "timeout_ms": _INT,
    "delay_ms": _INT,
    "backoff_ms": _INT,
    "no_retry": _BOOL,
    "not_before": _FLOAT,
    "worker": _STR,
    "created_at": _FLOAT,
    "started_at": _FLOAT,
    "finished_at": _FLOAT,
    "result": _STR,
    "error": _STR,
    "parent": _INT,
    "progress_done": _INT,
    "progress_total": _INT,
    "progress_text": _STR,
    "progress_at": _FLOAT,
    "log": _STR,
    "call": _INT,
    "schedule": _STR,
    "cron": _STR,
    "every_ms": _INT,
    "held": _STR,
    "retry_of": _INT,
    "unique": _STR,
    "unique_for_ms": _INT,
}
_WORKER_FIELDS = {
    "name": _STR,
    "host": _STR,
    "pid": _INT,
    "io_slots": _INT,
    "max_suspended": _INT,
    "suspended": _INT,
    "cpu_slots": _INT,
    "state": _STR,
    "running": _INT,
    "connected_at": _FLOAT,
    "last_seen": _FLOAT,
}


def _type_ok(value, kind):
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _FLOAT:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == _STR:
        return isinstance(value, str)
    return isinstance(value, bool)


_TYPES = {_INT: (int,), _FLOAT: (int, float), _STR: (str,), _BOOL: (bool,)}


def _check_map(where, fields, table):
    """Drops nil values and checks the known keys' types, in place."""
    if None in fields.values():
        for key in [key for key, value in fields.items() if value is None]:
            del fields[key]
    for key, value in fields.items():
        kind = table.get(key)
        if kind is None:
            continue
        #  type(), not isinstance(): a bool is no integer here.
        if type(value) not in _TYPES[kind]:
            raise ProtocolError(
                CODES["EPROTO"], f"{where}field '{key}' is not {_ARTICLE[kind]}"
            )
        if type(value) is float and not math.isfinite(value):
            raise ProtocolError(CODES["EPROTO"], f"{where}field '{key}' is not finite")


_ARTICLE = {
    _INT: "an integer",
    _FLOAT: "a number",
    _STR: "a string",
    _BOOL: "a boolean",
}


def _check_list(frame, key, item_type):
    items = frame.get(key)
    if items is None:
        frame.pop(key, None)
        return []
    if not isinstance(items, list):
        raise ProtocolError(CODES["EPROTO"], f"field '{key}' is not an array")
    if len(items) > MAX_BATCH:
        raise ProtocolError(
            CODES["ETOOBIG"], f"{key} {len(items)} > ZJ_MAX_BATCH {MAX_BATCH}"
        )
    for item in items:
        if not isinstance(item, item_type) or isinstance(item, bool):
            raise ProtocolError(CODES["EPROTO"], f"field '{key}' holds a bad item")
    return items


def decode(data):
    """One frame's bytes -> its map, checked; raises ProtocolError."""
    if len(data) > MAX_FRAME:
        raise ProtocolError(CODES["ETOOBIG"], f"frame of {len(data)} bytes")
    try:
        frame = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except (ValueError, msgpack.UnpackException) as error:
        raise ProtocolError(CODES["EPROTO"], f"not msgpack: {error}") from None
    if not isinstance(frame, dict):
        raise ProtocolError(CODES["EPROTO"], "frame is not a map")
    frame = {key: value for key, value in frame.items() if isinstance(key, str)}
    version = frame.get("v")
    if version is None or version != VERSION or isinstance(version, bool):
        if version is not None and not _type_ok(version, _INT):
            raise ProtocolError(CODES["EPROTO"], "field 'v' is not an integer")
        raise ProtocolError(CODES["EVERSION"], f"protocol version {version!r}")
    if not isinstance(frame.get("t"), str):
        raise ProtocolError(CODES["EPROTO"], "field 't' missing")
    _check_map("", frame, _FRAME_FIELDS)
    _check_list(frame, "ids", int)
    for key, table in (("jobs", _JOB_FIELDS), ("workers", _WORKER_FIELDS)):
        for index, item in enumerate(_check_list(frame, key, dict)):
            _check_map(f"{key[:-1]} {index + 1}: ", item, table)
    return frame


def _absent(value):
    return value is None or value is False or value == 0 or value == [] or value == {}


def _pruned(fields):
    """A copy without the fields that are zero, false, empty or None, and
    so for each map in a list of maps (jobs, workers)."""
    kept = {}
    for key, value in fields.items():
        if type(value) is list and value and type(value[0]) is dict:
            value = [_pruned(item) for item in value]
        elif key == "concurrency" and value == 0:
            pass  # A limit map's concurrency 0 pauses its kind: it is sent
        elif type(value) is not str and _absent(value):
            continue
        kept[key] = value
    return kept


def encode(type_, **fields):
    """A frame of type_ with fields (absent when zero) -> bytes."""
    frame = {"v": VERSION, "t": type_}
    frame.update(_pruned(fields))
    return msgpack.packb(frame, use_bin_type=True)


def check_kind(kind):
    """Raises ValueError unless kind is a valid kind name."""
    if not isinstance(kind, str) or not kind:
        raise ValueError("a kind is a non-empty string")
    if len(kind) > MAX_KIND:
        raise ValueError(f"kind of {len(kind)} bytes > {MAX_KIND}")
    if not set(kind) <= _KIND_CHARS:
        raise ValueError(f"kind {kind!r} may hold only [A-Za-z0-9_.:-]")


def _check_value(value, depth):
    """Raises ValueError for what the coordinator's JSON rules refuse."""
    if depth > MAX_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH}")
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("a string holds a NUL character")
        value.encode("utf-8")  #  Raises for a lone surrogate
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise ValueError(f"integer {value} does not fit in 64 bits")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a JSON number")
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_value(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"JSON object key {key!r} is not a string")
            _check_value(key, depth + 1)
            _check_value(item, depth + 1)
    else:
        raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def to_json(value, limit):
    """value -> JSON text the coordinator accepts, at most limit bytes.

    Raises ValueError (or TypeError) with a one-line reason otherwise.
    """
    if value is None:
        return "null"
    _check_value(value, 1)
    text = json.dumps(value, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":"))
    size = len(text.encode("utf-8"))
    if size > limit:
        raise ValueError(f"JSON of {size} bytes is over the limit of {limit}")
    return text


def from_json(text):
    """JSON text from the wire -> a value; None (absent) reads as null."""
    if text is None:
        return None
    return json.loads(text)


def _ms(seconds, name):
    """A duration in seconds (None: none) -> whole ms for the wire."""
    if seconds is None:
        return 0
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{name} is a number of seconds")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{name} must be >= 0 seconds")
    return int(math.ceil(seconds * 1000))


def _ids(after):
    """after: ids or futures (anything with an id) -> list of ints."""
    ids = []
    for item in after or ():
        job_id = getattr(item, "id", item)
        if isinstance(job_id, bool) or not isinstance(job_id, int) or job_id < 1:
            raise ValueError(f"after: {item!r} is not a job id")
        ids.append(job_id)
    if len(ids) > MAX_AFTER:
        raise ValueError(f"after: {len(ids)} ids > {MAX_AFTER}")
    return ids


def _unique(job, unique, unique_for):
    """Adds a unique key and its window (seconds; None: 24 h) to job."""
    if unique is None:
        if unique_for is not None:
            raise ValueError("unique_for needs unique")
        return
    if not isinstance(unique, str):
        raise TypeError("unique is a str")
    size = len(unique.encode("utf-8", "surrogatepass"))
    if not 1 <= size <= MAX_UNIQUE or any(
            ord(char) < 0x20 or ord(char) == 0x7f or
            0xd800 <= ord(char) < 0xe000 for char in unique):
        raise ValueError(f"unique is not 1..{MAX_UNIQUE} bytes of UTF-8 "
                         "without control characters")
    job["unique"] = unique
    if unique_for is not None:
        window = _ms(unique_for, "unique_for")
        if not 1 <= window <= MAX_UNIQUE_FOR_MS:
            raise ValueError("unique_for must be 0.001..366 days of seconds")
        job["unique_for_ms"] = window


def job_map(kind, args=None, *, timeout=None, retries=0, backoff=None,
            priority=0, delay=None, after=None, unique=None, unique_for=None):
    """A SUBMIT or SPAWN job map from the Python API's options.

    Durations are seconds; retries counts attempts after the first.
    Raises ValueError or TypeError before anything is sent.
    """
    check_kind(kind)
    for name, value in (("retries", retries), ("priority", priority)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} is an integer")
    if not 0 <= retries < 2**31 - 1:
        raise ValueError("retries must be >= 0")
    if not -(2**31) <= priority < 2**31:
        raise ValueError("priority must fit in 32 bits")
    job = {
        "kind": kind,
        "priority": priority,
        "max_attempts": retries + 1,
        "timeout_ms": _ms(timeout, "timeout"),
        "delay_ms": _ms(delay, "delay"),
        "backoff_ms": _ms(backoff, "backoff"),
        "after": _ids(after),
    }
    if args is not None:
        job["args"] = to_json(args, MAX_ARGS)
    _unique(job, unique, unique_for)
    return job


def spec_map(spec):
    """job_map of a batch entry: a dict of job_map's arguments, or a
    (kind, args) pair."""
    if isinstance(spec, dict):
        return job_map(**spec)
    if isinstance(spec, (tuple, list)) and len(spec) in (1, 2):
        return job_map(*spec)
    raise TypeError(f"a job spec is a dict or a (kind, args) pair, not {spec!r}")
