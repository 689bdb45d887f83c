"""The worker's results: gathered per loop turn, sent in numbered RESULTS
batches, and kept until the coordinator's ACK lists their number.

A batch is kept as sent (its frame's bytes) and sent again after every
WELCOME, and when it stays unacknowledged for 3 heartbeat periods (then
twice as long each time, up to 32 times). Batches are cut to half of the
coordinator's max_message (one result may be larger); a result over its
max_result becomes the failure the coordinator would make of it.
"""

import collections
import time

from zjob import _wire

_MAX_BACKOFF = 32


class _Batch:
    def __init__(self, seq, frame, now):
        self.seq = seq
        self.frame = frame
        self.sent_at = now
        self.backoff = 1


class Results:
    def __init__(self):
        self.pending = []
        self.io_credit = 0
        self.cpu_credit = 0
        self.unacked = collections.OrderedDict()
        self.last_seq = 0
        self.max_message = _wire.MAX_FRAME
        self.max_result = _wire.MAX_RESULT

    def set_limits(self, max_message, max_result):
        """The limits a WELCOME gave (0: the protocol's)."""
        self.max_message = max_message or _wire.MAX_FRAME
        self.max_result = max_result or _wire.MAX_RESULT

    def add(self, outcome, klass):
        """A job's outcome (a RESULTS job map) for the next batch."""
        result = outcome.get("result")
        size = len(result.encode("utf-8")) if result is not None else 0
        if size > self.max_result:
            outcome = dict(outcome, state="failed", no_retry=True,
                           error=f"result of {size} bytes is over the "
                           f"coordinator's limit of {self.max_result} (--max-result)")
            del outcome["result"]
            size = 0
        #  Its result, its error and a bound on the rest of its map.
        weight = size + len(outcome.get("error", "")) * 4 + 128
        self.pending.append((outcome, weight))
        if klass == "io":
            self.io_credit += 1
        else:
            self.cpu_credit += 1

    def seal(self):
        """Numbers the pending results into batches; returns their frames."""
        if not self.pending:
            return []
        limit = self.max_message // 2
        batches, current, size = [], [], 0
        for outcome, weight in self.pending:
            if current and size + weight > limit:
                batches.append(current)
                current, size = [], 0
            current.append(outcome)
            size += weight
        batches.append(current)
        self.pending = []
        frames = []
        now = time.monotonic()
        for index, jobs in enumerate(batches):
            self.last_seq += 1
            credit = {"io_credit": self.io_credit, "cpu_credit": self.cpu_credit}
            frame = _wire.encode("RESULTS", req=self.last_seq, jobs=jobs,
                                 **(credit if index == 0 else {}))
            self.unacked[self.last_seq] = _Batch(self.last_seq, frame, now)
            frames.append(frame)
        self.io_credit = self.cpu_credit = 0
        return frames

    def ack(self, seq):
        self.unacked.pop(seq, None)

    def refused(self, seq):
        """An ERROR named batch seq: the coordinator cannot read it, and
        would not if it came again. True if it was ours."""
        return self.unacked.pop(seq, None) is not None

    def all_frames(self):
        """Every unacknowledged batch, oldest first (after a WELCOME)."""
        now = time.monotonic()
        for batch in self.unacked.values():
            batch.sent_at = now
        return [batch.frame for batch in self.unacked.values()]

    def late_frames(self, wait_s):
        """The batches unacknowledged for wait_s times their backoff."""
        now = time.monotonic()
        late = []
        for batch in self.unacked.values():
            if now - batch.sent_at >= wait_s * batch.backoff:
                batch.sent_at = now
                batch.backoff = min(batch.backoff * 2, _MAX_BACKOFF)
                late.append(batch.frame)
        return late
