"""The worker's log lines, in the C programs' format: a level letter, the
time, and grep-able key=value facts ("W: 26-12-06 00:45:40 loop blocked
job=42 kind=fetch held_ms=150"), on stderr. ZJOB_LOG=error|warning|info|
debug sets the level (default info)."""

import os
import sys
import time

_LEVELS = {"error": 0, "warning": 1, "info": 2, "debug": 3}
_LETTERS = "EWID"
_level = _LEVELS.get(os.environ.get("ZJOB_LOG", "info"), 2)


def set_level(name):
    """Sets the level by name (a --log-level flag): it wins over ZJOB_LOG."""
    global _level
    _level = _LEVELS[name]


def enabled(level):
    return _LEVELS[level] <= _level


def _write(level, text):
    if _LEVELS[level] > _level:
        return
    stamp = time.strftime("%y-%m-%d %H:%M:%S")
    stream = sys.__stderr__
    stream.write(f"{_LETTERS[_LEVELS[level]]}: {stamp} {text}\n")
    stream.flush()


def error(text):
    _write("error", text)


def warning(text):
    _write("warning", text)


def info(text):
    _write("info", text)


def debug(text):
    _write("debug", text)
