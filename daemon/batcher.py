"""The micro-batching rule, pure and clock-injected: no sockets, no sleeps, no threads; testable alone.

A batch is ready when it holds `max_batch` windows, or when its first (oldest) item has waited
`max_wait_s`, whichever comes first. The clock starts at the first item of a batch. An item may carry several
windows (a multi-window message); it is never split. `take` hands out at most `max_batch` windows (at least
one item); what it leaves keeps its own arrival times, so the next batch's clock is already running.

The daemon's sender thread takes a batch whenever it is free and one is ready: while the model works on
one batch, the next one fills (docs/performance.md), so max_wait_ms only matters when the model is idle.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Batcher(Generic[T]):
    def __init__(self, max_batch: int, max_wait_s: float):
        if max_batch < 1:
            raise ValueError(f"max_batch must be an integer >= 1, got {max_batch}")
        if max_wait_s < 0:
            raise ValueError(f"max_wait_s must be >= 0, got {max_wait_s}")
        self.max_batch, self.max_wait_s = max_batch, max_wait_s
        self._items: deque[tuple[T, int, float]] = deque()  # (item, windows, arrival time)
        self._windows = 0

    def __len__(self) -> int:
        """Windows waiting (not items)."""
        return self._windows

    def add(self, item: T, now: float, windows: int = 1) -> None:
        self._items.append((item, windows, now))
        self._windows += windows

    def deadline(self) -> float | None:
        """When the waiting batch is due at the latest; None when nothing waits."""
        return self._items[0][2] + self.max_wait_s if self._items else None

    def ready(self, now: float) -> bool:
        return bool(self._items) and (self._windows >= self.max_batch or now >= self._items[0][2] +
                                      self.max_wait_s)

    def take(self, now: float, force: bool = False, windows: Callable[[T, int], None] | None = None) -> list[T]:
        """Up to max_batch windows' worth of the oldest items if a batch is ready (or `force`), else [];
        `windows(item, n)` is told each item's window count."""
        if not self._items or not (force or self.ready(now)):
            return []
        batch: list[T] = []
        taken = 0
        while self._items and (not batch or taken + self._items[0][1] <= self.max_batch):
            item, n, _ = self._items.popleft()
            batch.append(item)
            taken += n
            if windows is not None:
                windows(item, n)
        self._windows -= taken
        return batch

    def pop_newest(self, match: Callable[[T], bool]) -> tuple[T, int]:
        """Remove the newest item for which `match` is true: (item, its windows). KeyError if none matches.
        Scans from the newest end, where a stream sending fast has its items."""
        for i in range(len(self._items) - 1, -1, -1):
            if match(self._items[i][0]):
                item, n, _ = self._items[i]
                del self._items[i]
                self._windows -= n
                return item, n
        raise KeyError("no waiting item matches")
