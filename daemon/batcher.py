"""The micro-batching rule, pure and clock-injected: no sockets, no sleeps, no threads; testable alone.

A batch is ready when it holds `max_batch` windows, or when its first (oldest) item has waited
`max_wait_s`, whichever comes first. The clock starts at the first item of a batch. An item may carry several
windows (a multi-window message); it is never split. `take` hands out at most `max_batch` windows (at least
one item); what it leaves keeps its own arrival times, so the next batch's clock is already running.

Items carry their stream. A batch takes one item from each waiting stream in turn (round robin, the ring
carried from batch to batch), each stream's own items oldest first: a stream's windows keep their order, and
a stream with a long backlog does not make a quiet one wait behind all of it. With one stream (or items
from many, one each) this is first come, first served.

The daemon's sender thread takes a batch whenever it is free and one is ready: while the model works on
one batch, the next one fills (docs/performance.md), so max_wait_ms only matters when the model is idle.
"""

from __future__ import annotations

import heapq
import itertools
from collections import OrderedDict, deque
from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Batcher(Generic[T]):
    def __init__(self, max_batch: int, max_wait_s: float):
        if max_batch < 1:
            raise ValueError(f"max_batch must be an integer >= 1, got {max_batch}")
        if max_wait_s < 0:
            raise ValueError(f"max_wait_s must be >= 0, got {max_wait_s}")
        self.max_batch, self.max_wait_s = max_batch, max_wait_s
        # stream -> its items (item, windows, arrival time, uid), oldest first; the order is the ring. An
        # OrderedDict: in a plain dict whose first keys keep being deleted, next(iter(d)) walks past every
        # deleted slot.
        self._streams: OrderedDict[Hashable, deque[tuple[T, int, float, int]]] = OrderedDict()
        self._per: dict[Hashable, int] = {}  # stream -> windows waiting
        # (-windows waiting, n, stream) each time a stream's count changes: the top whose count is still its
        # stream's is the stream with the most (entries gone stale are dropped when they reach the top, or
        # all at once when they outnumber the streams)
        self._heap: list[tuple[int, int, Hashable]] = []
        self._pushes = itertools.count()  # the heap's tie-break: streams themselves are never compared
        self._arrivals: deque[tuple[float, int]] = deque()  # (arrival, uid) of every item, oldest first ...
        self._gone: set[int] = set()  # ... less these, taken or removed out of turn (dropped lazily)
        self._uid = 0
        self._windows = 0

    def __len__(self) -> int:
        """Windows waiting (not items)."""
        return self._windows

    def windows_of(self) -> dict[Hashable, int]:
        """Windows waiting, by stream (streams with none are left out). Read-only."""
        return self._per

    def most(self) -> tuple[Hashable, int] | None:
        """A stream with the most windows waiting, and how many; None when nothing waits. Amortised O(log n):
        the daemon asks for every message it reads while the queue is full, with thousands of streams waiting."""
        heap, per = self._heap, self._per
        while heap:
            minus, _, stream = heap[0]
            if per.get(stream) == -minus:
                return stream, -minus
            heapq.heappop(heap)
        return None

    def _counted(self, stream: Hashable, windows: int) -> None:  # now `windows` waiting
        heapq.heappush(self._heap, (-windows, next(self._pushes), stream))
        if len(self._heap) > 4 * len(self._per) + 1024:
            self._heap = [(-n, next(self._pushes), s) for s, n in self._per.items()]
            heapq.heapify(self._heap)

    def add(self, item: T, now: float, windows: int = 1, stream: Hashable = None) -> None:
        q = self._streams.get(stream)
        if q is None:
            q = self._streams[stream] = deque()
        uid = self._uid
        self._uid = uid + 1
        q.append((item, windows, now, uid))
        self._arrivals.append((now, uid))
        self._windows += windows
        self._per[stream] = count = self._per.get(stream, 0) + windows
        self._counted(stream, count)

    def _oldest(self) -> float | None:
        while self._arrivals and self._arrivals[0][1] in self._gone:
            self._gone.discard(self._arrivals.popleft()[1])
        return self._arrivals[0][0] if self._arrivals else None

    def deadline(self) -> float | None:
        """When the waiting batch is due at the latest; None when nothing waits."""
        oldest = self._oldest()
        return None if oldest is None else oldest + self.max_wait_s

    def ready(self, now: float) -> bool:
        oldest = self._oldest()
        return oldest is not None and (self._windows >= self.max_batch or now >= oldest + self.max_wait_s)

    def take(self, now: float, force: bool = False) -> list[T]:
        """Up to max_batch windows' worth of items, a stream at a time in turn, if a batch is ready (or
        `force`), else []."""
        if not self._streams or not (force or self.ready(now)):
            return []
        batch: list[T] = []
        taken, streams, gone = 0, self._streams, self._gone
        while streams:
            stream = next(iter(streams))
            q = streams[stream]
            item, n, _, uid = q[0]
            if batch and taken + n > self.max_batch:
                break
            q.popleft()
            if q:
                streams.move_to_end(stream)  # to the back of the ring
            else:
                del streams[stream]
            gone.add(uid)
            self._less(stream, n)
            batch.append(item)
            taken += n
        self._windows -= taken
        return batch

    def pop_newest(self, stream: Hashable) -> tuple[T, int]:
        """Remove `stream`'s newest item: (item, its windows). KeyError if the stream has none waiting."""
        q = self._streams[stream]
        item, n, _, uid = q.pop()
        if not q:
            del self._streams[stream]
        self._gone.add(uid)
        self._windows -= n
        self._less(stream, n)
        return item, n

    def _less(self, stream: Hashable, windows: int) -> None:
        left = self._per[stream] - windows
        if left:
            self._per[stream] = left  # its older heap entries now overstate it: most() drops them as they surface
            self._counted(stream, left)
        else:
            del self._per[stream]
