"""`hush bench --overload SECONDS`: the daemon at 3x its capacity, then at a light load, and `--scale-out N`.

It starts `hush serve` (SUB input, the shipped model, a control endpoint), offers 3x the model's own
batched throughput on two streams for SECONDS, then 200 windows/s for 10 s, and reports: the daemon's
memory over time, what was answered and what was dropped (per stream), the latency of what was served in
each phase, and whether the daemon's counters reconcile (received = answered + errors).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import zmq

from hush.clients.control import request
from hush.config import ServeConfig
from hush.paths import DEFAULT_MODEL
from hush.tools import load
from hush.tools.model_timing import time_model_in_process
from hush.tools.spawn import DaemonProcess, loopback


class MemoryWatch:
    """The RSS of process `pid`, sampled every second on a thread: [(seconds since start, MB)]."""

    def __init__(self, pid: int):
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._proc, self._t0 = psutil.Process(pid), time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True, name="memory-watch")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((round(time.monotonic() - self._t0, 1), self._proc.memory_info().rss / 2**20))
            except psutil.NoSuchProcess:  # the daemon has exited
                return
            self._stop.wait(1.0)

    def stop(self) -> list[tuple[float, float]]:
        self._stop.set()
        self._thread.join()
        return self.samples


def overload(seconds: float = 60.0, out_dir: str | Path = "bench-out", model: str | None = None,
             say: Any = print) -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model_path = Path(model) if model else DEFAULT_MODEL
    # The model as the daemon runs it by default: two single-threaded workers, the default engine.
    capacity = time_model_in_process(str(model_path), 64, 1, 2, ServeConfig().engine, False)["batched_windows_per_s"]
    offered = 3 * capacity
    say(f"model alone: {capacity:,.0f} windows/s; offering {offered:,.0f} windows/s for {seconds:g} s, "
        "then 200 windows/s for 10 s")
    ctl = loopback()
    daemon = DaemonProcess(model_path, flags=["--control", ctl, "--input-type", "sub"], log=out / "overload.log")
    daemon.start()
    ctx = zmq.Context()
    sub = load.subscriber(ctx, [daemon.output], [b"overload/", b"!error/overload/"])
    spec = load.Load(daemon.input, [(offered, seconds), (200.0, 10.0)], streams=2, prefix="overload/")
    heavy = spec.messages() - load.Load(daemon.input, [(200.0, 10.0)]).messages()  # messages of the first phase
    memory = MemoryWatch(daemon.pid)
    gen, q = load.start(spec)
    arrivals = load.collect(sub, spec.messages(), idle_s=0.5, done=lambda: not gen.is_alive())
    sent_t, _ = load.finish(gen, q)
    rss = memory.stop()
    stats = request(ctl, "stats", 30.0)
    sub.close(linger=0)
    ctx.term()
    code = daemon.stop()

    answered: dict[str, int] = {}
    dropped: dict[str, int] = {}
    lat: dict[str, list[float]] = {"overload": [], "light": []}
    for t, topic, body in arrivals:
        if topic.startswith(b"!error/"):
            dropped[topic[7:].decode()] = dropped.get(topic[7:].decode(), 0) + 1
            continue
        stream = topic.decode()
        answered[stream] = answered.get(stream, 0) + 1
        i = load.seq_of(body) * spec.streams + spec.topics.index(stream)  # the message's index in the run
        lat["overload" if i < heavy else "light"].append((t - sent_t[i]) * 1e3)
    sent = len(sent_t)

    def pct(xs: list[float], p: float) -> float:
        return float(np.percentile(xs, p)) if xs else float("nan")

    errors = sum(stats.get("errors", {}).values())
    result = {
        "model_windows_per_s": capacity, "offered_windows_per_s": offered, "seconds": seconds, "sent": sent,
        "daemon_received": stats.get("received"), "answered": answered, "dropped_overloaded": dropped,
        "daemon_errors": stats.get("errors"), "reconciles": stats.get("received") == stats.get("messages_out", -1)
        + errors, "lost_before_daemon": sent - (stats.get("received") or 0),
        "latency_ms": {k: {"p50": pct(v, 50), "p99": pct(v, 99), "max": max(v, default=float("nan"))}
                       for k, v in lat.items()},
        "rss_mb": rss, "exit_code": code,
    }
    (out / "overload.json").write_text(json.dumps(result, indent=2) + "\n")
    mem = [m for _, m in rss]
    say(f"sent {sent:,}; the daemon read {stats.get('received'):,}, answered {stats.get('messages_out'):,}, "
        f"dropped with 'overloaded' {stats.get('errors', {}).get('overloaded', 0):,}; counters reconcile: "
        f"{result['reconciles']}")
    say(f"answered per stream {answered}; dropped per stream {dropped}")
    for k, v in result["latency_ms"].items():
        say(f"latency of served windows, {k}: p50 {v['p50']:.1f} ms, p99 {v['p99']:.1f} ms, max {v['max']:.1f} ms")
    say(f"daemon memory (RSS): start {mem[0]:.0f} MB, max {max(mem):.0f} MB, end {mem[-1]:.0f} MB; exit code {code}")
    say(f"wrote {out / 'overload.json'}")
    return result


def scale_out(daemons: int = 2, windows: int = 40_000, out_dir: str | Path = "bench-out", model: str | None = None,
              say: Any = print) -> dict[str, Any]:
    """Throughput of 1 daemon and of `daemons` daemons sharing one PUSH input, each daemon with one model
    worker (one core's worth), all windows answered once."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model_path = Path(model) if model else DEFAULT_MODEL
    result: dict[str, Any] = {}
    for count in sorted({1, daemons}):
        push = loopback()
        flags = ["--input-type", "pull", "--input-mode", "connect", "--workers", "1", "--intra-op-threads", "1"]
        procs = [DaemonProcess(model_path, push, flags=flags, log=out / f"scale-{count}-{k}.log").start()
                 for k in range(count)]
        ctx = zmq.Context()
        sub = load.subscriber(ctx, [p.output for p in procs], [b"scale/"])
        gen, q = load.start(load.Load(push, [(0.0, 0.0)], prefix="scale/", push=True, bind=True, count=windows))
        arrivals = load.collect(sub, windows, idle_s=20.0)
        sent_t, _ = load.finish(gen, q)
        sub.close(linger=0)
        ctx.term()
        for p in procs:
            p.stop()
        seen = np.zeros(windows, bool)
        seen[[load.seq_of(body) for _, _, body in arrivals]] = True
        rate = seen.sum() / (arrivals[-1][0] - sent_t[0]) if arrivals else 0.0
        result[f"{count}_daemons"] = {"answered": int(seen.sum()), "windows_per_s": rate}
        say(f"  {count} daemon(s), 1 model worker each: {seen.sum():,}/{windows:,} answered, {rate:,.0f} windows/s")
    if daemons > 1:
        result["ratio"] = result[f"{daemons}_daemons"]["windows_per_s"] / result["1_daemons"]["windows_per_s"]
        say(f"  {daemons} daemons / 1 daemon: {result['ratio']:.2f}x on {mp.cpu_count()} cores")
    (out / "scale-out.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
