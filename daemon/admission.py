"""The daemon's admission rules, pure and clock-injected like batcher.py: no sockets, no threads, no sleeps.

What waits for the model is bounded, and what happens at the bound depends on the input socket:
- **Queue limit.** At most `limit` windows (queue_batches x max_batch) wait. With SUB input (`drop`), a
  message that would pass it is refused on arrival and answered `overloaded`: a PUB cannot be slowed, and a
  bounded queue keeps the latency of what is served bounded. While the queue is full, the I/O thread refuses
  what it reads without decoding the samples (`full`). With PULL input nothing is refused: the I/O thread
  stops reading until there is room (`has_room`), so ZeroMQ holds the senders back and nothing is lost.
- **Age limit** (SUB input, `max_age_s` > 0). Under sustained overload everything in a full queue is late: a
  message that waited longer than max_age_s when a worker takes it is answered `overloaded` instead of run,
  which gives its model time to the rest. The oldest leave first, so the stale ones are a prefix.
- **Batches** form by the Batcher's rule (max_batch windows, or max_wait_s after the first arrived).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from hush.daemon.batcher import Batcher

T = TypeVar("T")
QUEUE_FULL = "the queue of windows waiting for the model is full"


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

    def __len__(self) -> int:
        """Windows waiting."""
        return len(self._batcher)

    def full(self) -> bool:
        """SUB input at its limit: what is read now is refused without being decoded."""
        return self.rules.drop and len(self._batcher) >= self.rules.limit

    def has_room(self) -> bool:
        """PULL input: whether the I/O thread may read more."""
        return len(self._batcher) < self.rules.limit

    def admit(self, item: T, windows: int, now: float) -> bool:
        """Queue `item` (a message of `windows` windows) arrived at `now`; False: refused (SUB input, full)."""
        if self.rules.drop and len(self._batcher) + windows > self.rules.limit:
            return False
        self._batcher.add((item, now), now, windows=windows)
        return True

    def deadline(self) -> float | None:
        """When the waiting batch is due at the latest; None when nothing waits."""
        return self._batcher.deadline()

    def take(self, now: float, force: bool = False) -> tuple[list[T], list[tuple[T, float]]]:
        """A batch if one is ready (or `force`): (items to run, [(item, seconds waited)] refused as too old)."""
        taken = self._batcher.take(now, force=force)
        limit, n = self.rules.max_age_s if self.rules.drop else 0.0, 0
        if limit:
            while n < len(taken) and now - taken[n][1] > limit:
                n += 1
        return [item for item, _ in taken[n:]], [(item, now - t) for item, t in taken[:n]]
