"""The daemon's admission rules, pure and clock-injected like batcher.py: no sockets, no threads, no sleeps.

What waits for the model is bounded, and what happens at the bound depends on the input socket:
- **Queue limit.** At most `limit` windows (queue_batches x max_batch) wait. With SUB input (`drop`), a
  PUB cannot be slowed, and a bounded queue keeps the latency of what is served bounded: at the limit,
  something is answered `overloaded`. With PULL input nothing is refused: the I/O thread stops reading until
  there is room (`has_room`), so ZeroMQ holds the senders back (fair-queued per connection) and nothing is lost.
- **Per stream, the longest queue gives way** (SUB input). At the limit, a message from a stream that
  would then hold no more windows than the stream holding the most (the hog) is admitted, and the hog's
  newest messages are pushed out to make room (`evicted`, answered `overloaded`); a message from the hog
  itself, or one that would make its stream the hog, is refused. So one stream sending past the daemon's
  capacity loses its own windows, not the others' (longest-queue drop: every stream holding less than its
  share of the queue is never refused). While the queue is full, the I/O thread reads each message's stream
  id and window count only and refuses it without decoding the samples when `refuses` says so.
- **Age limit** (SUB input, `max_age_s` > 0). Under sustained overload everything in a full queue is late: a
  message that waited longer than max_age_s when a worker takes it is answered `overloaded` instead of run,
  which gives its model time to the rest.
- **Batches** form by the Batcher's rule (max_batch windows, or max_wait_s after the first arrived), taking
  the waiting streams in turn: a quiet stream's window waits for about one batch, not for a hog's backlog.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from hush.daemon.batcher import Batcher

T = TypeVar("T")
QUEUE_FULL = "the queue of windows waiting for the model is full and this stream holds the most of it"
PUSHED_OUT = ("the queue of windows waiting for the model is full and this stream held the most of it: its newest "
              "message made room for another stream's")


@dataclass(frozen=True)
class Rules:
    max_batch: int
    max_wait_s: float
    limit: int  # windows waiting at most
    drop: bool  # SUB input: refuse past the limit; PULL input: stop reading instead
    max_age_s: float = 0.0  # with drop: a message older than this when taken is refused; 0: never


class Admission(Generic[T]):
    def __init__(self, rules: Rules):
        self.rules = rules
        self._batcher: Batcher[tuple[T, float]] = Batcher(rules.max_batch, rules.max_wait_s)
        self.evicted: list[T] = []  # pushed out for another stream's message; the caller answers and clears

    def __len__(self) -> int:
        """Windows waiting."""
        return len(self._batcher)

    def full(self) -> bool:
        """SUB input at its limit: what is read now is looked at (`refuses`) before it is decoded."""
        return self.rules.drop and len(self._batcher) >= self.rules.limit

    def has_room(self) -> bool:
        """PULL input: whether the I/O thread may read more."""
        return len(self._batcher) < self.rules.limit

    def waiting(self, stream: Hashable) -> int:
        """Windows of `stream` waiting."""
        return self._batcher.windows_of().get(stream, 0)

    def _hog(self, stream: Hashable, windows: int) -> Hashable | None:
        """The stream to push out for `stream`'s message of `windows` windows: the one holding the most, if it
        would still hold more than `stream` after admission; else None."""
        most = self._batcher.most()
        if most is None:
            return None
        hog, held = most
        return hog if hog != stream and held > self.waiting(stream) + windows else None

    def refuses(self, stream: Hashable, windows: int) -> bool:
        """SUB input: whether a message of `windows` windows from `stream` would be refused now."""
        return (self.rules.drop and len(self._batcher) + windows > self.rules.limit
                and self._hog(stream, windows) is None)

    def admit(self, item: T, windows: int, now: float, stream: Hashable = None) -> bool:
        """Queue `item` (a message of `windows` windows from `stream`) arrived at `now`; False: refused (SUB
        input, full, and `stream` holds the most). Messages pushed out for it are added to `evicted`."""
        if self.rules.drop:
            while len(self._batcher) + windows > self.rules.limit:
                hog = self._hog(stream, windows)
                if hog is None:
                    return False
                (old, _), _ = self._batcher.pop_newest(hog)
                self.evicted.append(old)
        self._batcher.add((item, now), now, windows=windows, stream=stream)
        return True

    def deadline(self) -> float | None:
        """When the waiting batch is due at the latest; None when nothing waits."""
        return self._batcher.deadline()

    def take(self, now: float, force: bool = False) -> tuple[list[T], list[tuple[T, float]]]:
        """A batch if one is ready (or `force`): (items to run, [(item, seconds waited)] refused as too old)."""
        taken = self._batcher.take(now, force=force)
        limit = self.rules.max_age_s if self.rules.drop else 0.0
        if not limit:
            return [item for item, _ in taken], []
        return ([item for item, t in taken if now - t <= limit],
                [(item, now - t) for item, t in taken if now - t > limit])
