"""`hush bench --soak SECONDS`: months of uptime, compressed. A steady load at 0.7 of the model's capacity
(8 windows a message) over many streams for SECONDS; the daemon's memory (RSS, every second) and the
served latency, per minute, with their slopes after the first minute (warm-up). What a leak or a slow
drift would show."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import zmq

from hush import protocol
from hush.config import ServeConfig
from hush.paths import DEFAULT_MODEL
from hush.tools import load
from hush.tools.model_timing import time_model_in_process
from hush.tools.overload import MemoryWatch
from hush.tools.spawn import DaemonProcess


def soak(seconds: float, out_dir: str | Path = "bench-out", model: str | None = None, streams: int = 1000,
         fraction: float = 0.7, say: Any = print) -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model_path = Path(model) if model else DEFAULT_MODEL
    capacity = time_model_in_process(str(model_path), 64, 1, 2, ServeConfig().engine, False)["batched_windows_per_s"]
    rate = fraction * capacity
    say(f"model alone: {capacity:,.0f} windows/s; offering {rate:,.0f} windows/s on {streams:,} streams for "
        f"{seconds:g} s")
    with DaemonProcess(model_path, log=out / "soak.log").start() as daemon:
        ctx = zmq.Context()
        sub = load.subscriber(ctx, [daemon.output], [b"soak/", b"!error/soak/"])
        # In 8-window messages, as high-rate sensors send (docs/protocol.md): one window a message at 0.7 of
        # the model is past what these 2 cores carry at all (docs/performance.md), and would measure overload.
        spec = load.Load(daemon.input, [(rate, seconds)], k=8, streams=streams, prefix="soak/", stamp=True)
        memory = MemoryWatch(daemon.pid)
        gen, q = load.start(spec)
        minutes = _collect(sub, spec.messages(), gen, say)
        sent, _ = load.finish(gen, q)
        rss = memory.stop()
        sub.close(linger=0)
        ctx.term()
    result = _summary(minutes, rss, len(sent), rate, seconds, streams)
    (out / "soak.json").write_text(json.dumps(result, indent=2) + "\n")
    say(f"sent {result['sent']:,}, answered {result['answered']:,}, errors {result['errors']:,}")
    say(f"RSS after the first minute: {result['rss_mb_first']:.0f} -> {result['rss_mb_last']:.0f} MB "
        f"({result['rss_growth_pct']:+.2f} %; slope {result['rss_mb_per_min']:+.3f} MB/min)")
    p99s = ", ".join(f"{m['p99_ms']:.1f}" for m in result["minutes"])
    say(f"p99 per minute: {p99s} ms (slope {result['p99_ms_per_min']:+.3f} ms/min)")
    say(f"wrote {out / 'soak.json'}")
    return result


def _collect(sub: zmq.Socket, n: int, gen: Any, say: Any) -> list[dict[str, Any]]:
    """Latency of every answer (now minus its "ts"), summed up per minute as it comes: a long run keeps
    percentiles, not millions of timestamps."""
    minutes: list[dict[str, Any]] = []
    lat: list[float] = []
    answered = errors = 0
    t_min = time.monotonic() + 60
    got = 0
    while got < n:
        if not sub.poll(5000):
            if not gen.is_alive():
                break
            continue
        topic, body = sub.recv_multipart()
        now = time.perf_counter()
        if topic == protocol.READY_TOPIC:
            continue
        got += 1
        if topic.startswith(b"!error/"):
            errors += 1
        else:
            answered += 1
            lat.append(now - msgpack.unpackb(body)["ts"])
        if time.monotonic() >= t_min:
            minutes.append(_minute(lat, answered, errors))
            say(f"  minute {len(minutes)}: answered {answered:,}, errors {errors:,}, latency p50 "
                f"{minutes[-1]['p50_ms']:.2f} ms p99 {minutes[-1]['p99_ms']:.2f} ms")
            lat, answered, errors, t_min = [], 0, 0, t_min + 60
    if lat or answered or errors:
        minutes.append(_minute(lat, answered, errors))
    return minutes


def _minute(lat: list[float], answered: int, errors: int) -> dict[str, Any]:
    a = np.asarray(lat) * 1e3
    return {"answered": answered, "errors": errors, "p50_ms": float(np.percentile(a, 50)) if a.size else float("nan"),
            "p99_ms": float(np.percentile(a, 99)) if a.size else float("nan")}


def _slope(y: list[float]) -> float:
    """Least-squares slope per step (per minute), 0 with fewer than two points."""
    return float(np.polyfit(np.arange(len(y)), y, 1)[0]) if len(y) >= 2 else 0.0


def _summary(minutes: list[dict[str, Any]], rss: list[tuple[float, float]], sent: int, rate: float,
             seconds: float, streams: int) -> dict[str, Any]:
    after = [m for t, m in rss if t >= 60] or [m for _, m in rss]  # the first minute is warm-up
    per_min = [float(np.mean([m for t, m in rss if k * 60 <= t < (k + 1) * 60])) for k in range(1, int(seconds // 60))
               if any(k * 60 <= t < (k + 1) * 60 for t, _ in rss)]
    steady = minutes[1:] if len(minutes) > 2 else minutes
    return {"rate": rate, "seconds": seconds, "streams": streams, "sent": sent,
            "answered": sum(m["answered"] for m in minutes), "errors": sum(m["errors"] for m in minutes),
            "minutes": minutes, "rss_mb": rss, "rss_mb_first": after[0], "rss_mb_last": after[-1],
            "rss_growth_pct": (after[-1] - after[0]) / after[0] * 100, "rss_mb_per_min": _slope(per_min),
            "p99_ms_per_min": _slope([m["p99_ms"] for m in steady])}
