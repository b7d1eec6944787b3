"""The micro-batching rule, pure and clock-injected: no sockets, no sleeps, testable alone.

A batch is ready when it holds `max_batch` windows, or when its first item has waited `max_wait_s`,
whichever comes first. The clock starts at the first item of a batch. An item may carry several windows
(a multi-window message); it is never split, so a batch may pass max_batch by less than one item.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Batcher(Generic[T]):
    def __init__(self, max_batch: int, max_wait_s: float):
        if max_batch < 1:
            raise ValueError(f"max_batch must be an integer >= 1, got {max_batch}")
        if max_wait_s < 0:
            raise ValueError(f"max_wait_s must be >= 0, got {max_wait_s}")
        self.max_batch, self.max_wait_s = max_batch, max_wait_s
        self._items: list[T] = []
        self._windows = 0
        self._first_at: float | None = None

    def __len__(self) -> int:
        """Windows waiting (not items)."""
        return self._windows

    def add(self, item: T, now: float, windows: int = 1) -> None:
        if self._first_at is None:
            self._first_at = now
        self._items.append(item)
        self._windows += windows

    def deadline(self) -> float | None:
        """When the waiting batch is due at the latest; None when nothing waits."""
        return None if self._first_at is None else self._first_at + self.max_wait_s

    def ready(self, now: float) -> bool:
        return self._windows >= self.max_batch or (self._first_at is not None and now >= self._first_at +
                                                   self.max_wait_s)

    def take(self, now: float, force: bool = False) -> list[T]:
        """The waiting items if the batch is ready (or `force`), else []; the next batch starts empty."""
        if not self._items or not (force or self.ready(now)):
            return []
        items, self._items, self._windows, self._first_at = self._items, [], 0, None
        return items
