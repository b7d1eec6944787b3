"""Per-stream state stays bounded (issue 14): 200,000 distinct stream ids through the tracker and the
counters, idle streams forgotten, and /metrics exporting the largest streams only."""

from __future__ import annotations

import re
import time
import urllib.request
from typing import Any

import numpy as np

from hush import protocol
from hush.clients.publisher import Publisher
from hush.daemon.streams import OTHERS, BoundedCounter, SeqTracker
from hush.tools.spawn import free_port
from tests.conftest import running


def test_200000_stream_ids_keep_the_tracker_and_counters_bounded() -> None:
    seqs, gaps = SeqTracker(max_streams=1000, idle_s=0.0), BoundedCounter(1000)
    for i in range(200_000):
        missing, _ = seqs.see(f"s{i}".encode(), 5, now=float(i))
        assert missing == 0  # a stream never seen before has no gap
        gaps.add(f"s{i}", 1)
    assert len(seqs) == 1000 and seqs.forgotten == 199_000
    assert len(gaps) == 1001 and gaps[OTHERS] == 199_000 and sum(gaps.values()) == 200_000
    top = gaps.top(20)
    assert len(top) <= 21 and sum(top.values()) == 200_000


def test_an_idle_stream_is_forgotten_and_starts_afresh() -> None:
    seqs = SeqTracker(max_streams=10, idle_s=60.0)
    assert seqs.see(b"a", 0, now=0.0) == (0, None)
    assert seqs.see(b"a", 3, now=10.0) == (2, 0)  # seq 1 and 2 lost
    seqs.see(b"b", 0, now=100.0)  # 90 s after a was last seen: a is forgotten
    assert len(seqs) == 1
    assert seqs.see(b"a", 50, now=101.0) == (0, None)  # back after a long silence: no gap of 46


def test_metrics_carry_the_largest_streams_only(tiny_runner: Any) -> None:
    port = free_port()
    with running(tiny_runner, metrics_port=port, metrics_streams=5, max_streams=100) as srv:
        with Publisher(srv.input_endpoint, "many") as pub:
            pub.wait_connected()
            for i in range(300):  # 300 streams, each with a gap of i % 7 windows
                for seq in (0, 1 + i % 7):
                    pub.sock.send_multipart(protocol.encode_window(f"many/{i}", seq, np.ones(150)))
            deadline = time.monotonic() + 60
            while srv.counters()["received"] < 600 and time.monotonic() < deadline:
                time.sleep(0.05)
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    series = re.findall(r'^hush_seq_gap_windows_total\{stream="([^"]*)"\} (\S+)$', text, re.M)
    assert len(series) <= 6 and any(s == OTHERS for s, _ in series)  # 5 streams and the rest, at most
    assert sum(float(v) for _, v in series) == sum(i % 7 for i in range(300))
