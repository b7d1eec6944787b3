"""Per-stream state, bounded for months of uptime with streams that come and go: pure, clock-injected.

`SeqTracker` remembers each stream's last seq to count windows lost before the daemon (a forward jump). It
holds at most `max_streams` streams and forgets one idle for `idle_s` (least recently seen first: the
order of an OrderedDict), so a flood of stream ids or years of turnover cannot grow it. A forgotten stream
that comes back starts afresh: its first seq is not a gap.

`BoundedCounter` counts per stream (drops, gaps) up to `max_streams` keys; past that, new streams count
under "(other streams)". `top(n)` is what /metrics exports: the n largest and the rest summed, so a scrape
never carries a label per stream.
"""

from __future__ import annotations

from collections import Counter, OrderedDict

OTHERS = "(other streams)"


class SeqTracker:
    def __init__(self, max_streams: int, idle_s: float):
        self.max_streams, self.idle_s = max_streams, idle_s
        self._last: OrderedDict[bytes, tuple[int, float]] = OrderedDict()  # stream -> (seq, last seen)
        self.forgotten = 0

    def __len__(self) -> int:
        return len(self._last)

    def see(self, stream: bytes, seq: int, now: float) -> tuple[int, int | None]:
        """Record seq for stream at `now`; (windows missing before it, the previous seq or None)."""
        previous = self._last.pop(stream, None)
        self._last[stream] = (seq, now)
        self._forget(now)
        if previous is None or seq <= previous[0]:  # first sight, or the sender restarted its counter
            return 0, None if previous is None else previous[0]
        return seq - previous[0] - 1, previous[0]

    def _forget(self, now: float) -> None:
        while len(self._last) > self.max_streams:
            self._last.popitem(last=False)
            self.forgotten += 1
        while self.idle_s and self._last:
            _, (_, seen) = next(iter(self._last.items()))
            if now - seen <= self.idle_s:
                break
            self._last.popitem(last=False)
            self.forgotten += 1


class BoundedCounter(Counter[str]):
    def __init__(self, max_streams: int):
        super().__init__()
        self.max_streams = max_streams

    def add(self, stream: str, n: int) -> None:
        if stream not in self and len(self) >= self.max_streams:
            stream = OTHERS
        self[stream] += n

    def top(self, n: int) -> dict[str, int]:
        """The n largest counts, and the sum of the rest under OTHERS."""
        if len(self) <= n:
            return dict(self)
        largest = dict(self.most_common(n))
        rest = sum(self.values()) - sum(largest.values())
        return {**largest, OTHERS: largest.get(OTHERS, 0) + rest}
