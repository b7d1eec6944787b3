"""A reload under load (issue 14): the new model loads and warms beside the old while input keeps being
read and answered; nothing is lost and the counters reconcile. A real generator process, real sockets."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from hush.clients.control import request
from hush.tools import load
from hush.tools.spawn import loopback
from tests.conftest import running

RATE, SECONDS = 2000.0, 8.0


def test_reload_under_load_keeps_answering_and_loses_nothing(tiny_runner: Any, tiny_model: Path) -> None:
    with running(tiny_runner, control=loopback(), model=str(tiny_model), max_batch=64, queue_batches=64) as srv:
        ctx = zmq.Context()
        sub = load.subscriber(ctx, [srv.output_endpoint], [b"load/"])
        spec = load.Load(srv.input_endpoint, [(RATE, SECONDS)])
        gen, q = load.start(spec)
        replies: list[dict[str, Any]] = []
        timer = threading.Timer(2.0, lambda: replies.append(request(srv.control_endpoint, "reload", 120.0)))
        timer.start()
        arrivals = load.collect(sub, spec.messages(), idle_s=10.0)
        timer.join()
        load.finish(gen, q)
        sub.close(linger=0)
        ctx.term()
        counters = srv.counters()
    assert replies and replies[0]["ok"], replies
    seqs = sorted(load.seq_of(body) for _, _, body in arrivals)
    assert seqs == list(range(spec.messages()))  # every window answered once, none lost
    gaps = np.diff([t for t, _, _ in arrivals])
    # The old daemon stopped reading for the whole reload (~8 s here, three engines warmed) and lost windows;
    # a loose bound keeps a slow CI machine from failing this.
    assert gaps.max() < 3.0, f"answers stopped for {gaps.max():.2f} s during the reload"
    assert counters["received"] == counters["messages_out"] + sum(counters["errors"].values())
    assert counters["reloads"] == {"ok": 1}
