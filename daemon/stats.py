"""Counters the daemon keeps and the one-line summary it logs. Each counter has one writer thread, except
the overload drops (drop), which two threads write under a lock."""

from __future__ import annotations

import threading
from collections import Counter, deque

import numpy as np

from hush import protocol
from hush.daemon.streams import BoundedCounter

LATENCY_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
LATENCIES_KEPT = 100_000  # the summary's percentiles are over the latest this many windows at most


class Stats:
    def __init__(self, max_streams: int = 100_000) -> None:
        self.received = 0  # every message read from the input socket, good or bad (I/O thread)
        self.messages_in = 0  # accepted input messages (I/O thread)
        self.windows_in = 0  # accepted windows (I/O thread)
        # rejected messages by code (I/O thread; 'internal': sender; 'overloaded': drop)
        self.errors: Counter[str] = Counter()
        self.dropped = BoundedCounter(max_streams)  # windows dropped under overload, by stream (drop)
        self.seq_gaps = BoundedCounter(max_streams)  # windows missing between seqs, by stream (I/O thread)
        self.reloads: Counter[str] = Counter()  # model reloads: ok / refused
        self.messages_out = 0  # answered messages (sender thread)
        self.unsent = 0  # answers or errors ZeroMQ would not take (sender thread; logged each time)
        self.abandoned = 0  # model workers stuck past batch_timeout_s, replaced (I/O thread)
        self.windows_out = 0
        self.batches = 0
        self.batch_windows = 0
        self.model_s = 0.0  # time in the model, scaling included (sender thread, from the workers' reports)
        self.model_windows = 0
        self._lock = threading.Lock()
        # Since the last summary; bounded, so a daemon with summaries off (stats_interval_s = 0) does not grow.
        self._latencies_s: deque[float] = deque(maxlen=LATENCIES_KEPT)
        # Cumulative histograms for /metrics (counts per bucket, the last one is +Inf).
        self.latency_hist = np.zeros(len(LATENCY_BUCKETS_S) + 1, np.int64)
        self.latency_sum_s = 0.0
        self.batch_hist = np.zeros(len(BATCH_BUCKETS) + 1, np.int64)

    def drop(self, topic: bytes | None, seq: int | None, windows: int, why: str) -> list[bytes]:
        """One message refused under overload (daemon/admission.py says when): count it and make its
        `overloaded` error reply; `why` says which limit it met. The I/O thread (queue full) and the model
        workers (waited too long) both drop, so under the lock. Past max_streams distinct streams, new ones
        count as "(other streams)"."""
        stream = topic.decode() if topic else "(unreadable)"
        with self._lock:
            self.errors["overloaded"] += 1
            self.dropped.add(stream, windows)
        return protocol.encode_error("overloaded", f"the daemon is over capacity: {why}; this message was dropped",
                                     topic, seq)

    def record_batch(self, windows: int, latencies_s: list[float]) -> None:
        """One answered batch (sender thread)."""
        with self._lock:
            self._latencies_s.extend(latencies_s)
            np.add.at(self.latency_hist, np.searchsorted(LATENCY_BUCKETS_S, latencies_s), 1)
            self.latency_sum_s += sum(latencies_s)
            self.batch_hist[np.searchsorted(BATCH_BUCKETS, windows)] += 1

    def take_latencies(self) -> np.ndarray:
        with self._lock:
            values, self._latencies_s = self._latencies_s, deque(maxlen=LATENCIES_KEPT)
        return np.asarray(values)

    def summary(self, queue_depth: int) -> str:
        """One line: totals since start; latency percentiles since the previous summary."""
        lat = self.take_latencies() * 1000
        mean_batch = self.batch_windows / self.batches if self.batches else 0.0
        errs = sum(self.errors.values())
        by_code = (" (" + ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items())) + ")") if errs else ""
        lat_s = (f"latency ms p50 {np.percentile(lat, 50):.2f} p99 {np.percentile(lat, 99):.2f} "
                 f"max {lat.max():.2f}") if lat.size else "latency -"
        model_us = self.model_s / self.model_windows * 1e6 if self.model_windows else 0.0
        drops = sum(self.dropped.values())
        gaps = sum(self.seq_gaps.values())
        return (f"windows in {self.windows_in} out {self.windows_out}, messages in {self.messages_in} "
                f"out {self.messages_out}, errors {errs}{by_code}, dropped {drops}, seq gaps {gaps}, "
                f"batches {self.batches} "
                f"(mean {mean_batch:.1f} windows, model {model_us:.0f} us/window), {lat_s}, queue {queue_depth}")
