"""`hush bench --streams N` and `--hot-stream`: many sensors at a sensor's pace, and one that floods.

- `--streams N`: N streams, each at 360 samples/s (2.4 windows/s, one window per message), for SECONDS,
  into `hush serve` at its defaults. Zero loss means every window came back denoised: none refused as
  `overloaded`, none missing.
- `--hot-stream`: the same N quiet streams (500 by default) and one stream offering 3x the model's own
  batched rate (its best setting, measured first in a fresh process). The quiet streams must lose nothing;
  the hot one is the stream answered `overloaded` (per-stream admission, daemon/admission.py).

Each group has its own load generator process; one subscriber timestamps every answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from hush.paths import DEFAULT_MODEL
from hush.tools import load
from hush.tools.model_timing import time_model_in_process
from hush.tools.spawn import DaemonProcess

SENSOR_HZ, W = 360.0, 150


def _tally(spec: load.Load, sent_t: np.ndarray, arrivals: list[tuple[float, bytes, bytes]]) -> dict[str, Any]:
    """Answered, refused and missing messages of one generator's load, and the latency of the answered."""
    prefix, err_prefix = spec.prefix.encode(), b"!error/" + spec.prefix.encode()
    index = {t.encode(): i for i, t in enumerate(spec.topics)}
    seen = np.zeros(len(sent_t), bool)
    lat, refused, streams_refused = [], 0, set()
    for t, topic, body in arrivals:
        is_error = topic.startswith(err_prefix)
        if not (is_error or topic.startswith(prefix)):
            continue
        stream = topic[7:] if is_error else topic
        i = load.seq_of(body) * spec.streams + index[stream]
        seen[i] = True
        if is_error:
            refused += 1
            streams_refused.add(stream)
        else:
            lat.append((t - sent_t[i]) * 1e3)
    return {"sent": len(sent_t), "answered": len(lat), "overloaded": refused, "missing": int((~seen).sum()),
            "streams_refused": len(streams_refused), "windows_per_s": spec.phases[0][0],
            "p50_ms": float(np.percentile(lat, 50)) if lat else float("nan"),
            "p99_ms": float(np.percentile(lat, 99)) if lat else float("nan")}


def streams(n: int, seconds: float = 30.0, hot: bool = False, out_dir: str | Path = "bench-out",
            model: str | None = None, flags: list[str] | None = None, say: Any = print) -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model_path = Path(model) if model else DEFAULT_MODEL
    per_stream = SENSOR_HZ / W
    loads = [load.Load("", [(n * per_stream, seconds)], streams=n, prefix="quiet/")]
    result: dict[str, Any] = {"streams": n, "seconds": seconds, "per_stream_windows_per_s": per_stream}
    if hot:
        capacity = max(time_model_in_process(str(model_path), 64, 1, 2, engine, False)["batched_windows_per_s"]
                       for engine in ("lite", "bf16" if _bf16() else "graph"))
        result["model_windows_per_s"] = capacity
        loads.append(load.Load("", [(3 * capacity, seconds)], streams=1, prefix="hot/"))
        say(f"model alone (best of lite/bf16, 2 workers, batch 64): {capacity:,.0f} windows/s; one hot stream "
            f"offers {3 * capacity:,.0f} windows/s while {n} streams offer {per_stream:g} each "
            f"({n * per_stream:,.0f} windows/s) for {seconds:g} s")
    else:
        say(f"{n} streams at {SENSOR_HZ:g} samples/s each ({n * per_stream:,.0f} windows/s, one per message) "
            f"for {seconds:g} s")
    with DaemonProcess(model_path, flags=flags or [], log=out / "streams.log").start() as daemon:
        ctx = zmq.Context()
        sub = load.subscriber(ctx, [daemon.output], [b"quiet/", b"hot/", b"!error/"])
        loads = [load.Load(daemon.input, s.phases, streams=s.streams, prefix=s.prefix) for s in loads]
        gens = [load.start(s) for s in loads]
        total = sum(s.messages() for s in loads)
        arrivals = load.collect(sub, total, idle_s=2.0, done=lambda: not any(g.is_alive() for g, _ in gens))
        sent = [load.finish(g, q)[0] for g, q in gens]
        sub.close(linger=0)
        ctx.term()
    groups = {s.prefix.rstrip("/"): _tally(s, t, arrivals) for s, t in zip(loads, sent, strict=True)}
    result["groups"] = groups
    q = groups["quiet"]
    result["quiet_zero_loss"] = q["answered"] == q["sent"]
    for name, g in groups.items():
        say(f"  {name}: sent {g['sent']:,}, denoised {g['answered']:,}, overloaded {g['overloaded']:,} (from "
            f"{g['streams_refused']} streams), missing {g['missing']:,}; latency of the denoised p50 "
            f"{g['p50_ms']:.1f} ms, p99 {g['p99_ms']:.1f} ms")
    say(f"  {n} streams at a sensor's pace: {'zero loss' if result['quiet_zero_loss'] else 'LOST WINDOWS'}"
        + (f"; the hot stream got {groups['hot']['overloaded']:,} overloaded answers" if hot else ""))
    name = "hot-stream" if hot else f"streams-{n}"
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    say(f"wrote {out / f'{name}.json'}")
    return result


def _bf16() -> bool:
    from hush.runtime import bf16

    return bf16.hardware()
