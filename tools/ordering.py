"""`hush bench --order N`: order per stream across N daemons, measured two ways in one run.

- **fan-out**: N daemons connect their PULL inputs to one PUSH (ZeroMQ deals messages round-robin); a
  subscriber on every daemon's output. Measured: the share of windows that arrive after a later window of
  their stream, and the wait a subscriber-side reorder buffer would add to release every stream in order
  (a window is released once every earlier window of its stream has come): its p99 and maximum are the
  bounded wait such a buffer would need, and what every lost window would cost it.
- **route**: the same N daemons behind `hush route` (its own process); a subscriber on the router's output.
  Measured: out-of-order windows (0 by construction) and the latency the extra hop adds.
Both at the same offered load, over the same streams, one window per message.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from hush.paths import DEFAULT_MODEL
from hush.tools import load
from hush.tools.spawn import DaemonProcess, loopback, wait_ready

FLAGS = ["--workers", "1", "--intra-op-threads", "1", "--input-type", "pull"]


def order_stats(arrivals: list[tuple[float, bytes, bytes]], sent: np.ndarray, streams: int) -> dict[str, Any]:
    """Out-of-order share, latency, and a reorder buffer's added wait, from (arrival, topic, body) tuples of
    a load whose message i is stream i mod streams, seq i div streams."""
    seq = np.array([load.seq_of(body) for _, _, body in arrivals])
    stream = np.array([int(topic.rsplit(b"s", 1)[1]) for _, topic, _ in arrivals])
    t = np.array([a for a, _, _ in arrivals])
    late = np.zeros(len(arrivals), bool)
    wait = np.zeros(len(arrivals))
    for s in range(streams):
        idx = np.flatnonzero(stream == s)
        order = idx[np.argsort(seq[idx], kind="stable")]  # this stream's windows in seq order
        late[idx] = seq[idx] < np.maximum.accumulate(seq[idx])
        release = np.maximum.accumulate(t[order])  # released once it and every earlier window have come
        wait[order] = release - t[order]
    latency = t - sent[seq * streams + stream]
    ms = lambda x, q: round(float(np.percentile(x, q)) * 1000, 3)  # noqa: E731
    return {"answered": len(arrivals), "out_of_order": float(late.mean()) if len(late) else 0.0,
            "latency_p50_ms": ms(latency, 50), "latency_p99_ms": ms(latency, 99),
            "reorder_wait_p99_ms": ms(wait, 99), "reorder_wait_max_ms": round(float(wait.max()) * 1000, 3),
            "reordered_latency_p99_ms": ms(latency + wait, 99)}


def _run(procs: list[DaemonProcess], target: str, outputs: list[str], rate: float, seconds: float,
         streams: int, bind: bool) -> dict[str, Any]:
    ctx = zmq.Context()
    sub = load.subscriber(ctx, outputs, [b"order/"])
    gen, q = load.start(load.Load(target, [(rate, seconds)], prefix="order/", streams=streams, push=True,
                                  bind=bind))
    n = load.Load(target, [(rate, seconds)]).messages()
    arrivals = load.collect(sub, n, idle_s=10.0)
    sent, _ = load.finish(gen, q)
    sub.close(linger=0)
    ctx.term()
    return order_stats(arrivals, sent, streams)


def order(daemons: int = 2, out_dir: str | Path = "bench-out", model: str | None = None, rate: float = 2000.0,
          seconds: float = 5.0, streams: int = 50, say: Any = print) -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model_path = Path(model) if model else DEFAULT_MODEL
    result: dict[str, Any] = {"daemons": daemons, "rate": rate, "streams": streams}
    push = loopback()
    procs = [DaemonProcess(model_path, push, flags=[*FLAGS, "--input-mode", "connect"],
                           log=out / f"order-fanout-{k}.log").start() for k in range(daemons)]
    try:
        result["fan_out"] = _run(procs, push, [p.output for p in procs], rate, seconds, streams, bind=True)
    finally:
        for p in procs:
            p.stop()
    procs = [DaemonProcess(model_path, loopback(), flags=FLAGS, log=out / f"order-route-{k}.log").start()
             for k in range(daemons)]
    r_in, r_out = loopback(), loopback()
    router = subprocess.Popen([sys.executable, "-m", "hush.cli", "route", "--input-type", "pull", "--input", r_in,
                               "--output", r_out, "--daemons", *[f"{p.input}={p.output}" for p in procs]],
                              stdout=open(out / "order-router.log", "w"), stderr=subprocess.STDOUT)
    try:
        if not wait_ready(r_out, 30):
            raise RuntimeError(f"hush route did not greet within 30 s; see {out / 'order-router.log'}")
        result["route"] = _run(procs, r_in, [r_out], rate, seconds, streams, bind=False)
    finally:
        router.terminate()
        router.wait(30)
        for p in procs:
            p.stop()
    for name in ("fan_out", "route"):
        r = result[name]
        say(f"  {name:8s} {daemons} daemons, {rate:,.0f} windows/s over {streams} streams: {r['answered']:,} "
            f"answered, {r['out_of_order']:.1%} out of order; latency p50 {r['latency_p50_ms']} ms, p99 "
            f"{r['latency_p99_ms']} ms; a reorder buffer would wait p99 {r['reorder_wait_p99_ms']} ms, max "
            f"{r['reorder_wait_max_ms']} ms (p99 with it: {r['reordered_latency_p99_ms']} ms)")
    (out / "order.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
