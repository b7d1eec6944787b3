"""The model alone, timed as the daemon runs it (its Runner, each engine and thread setting, each in a fresh
process since TensorFlow's thread pools are fixed at its start): `hush bench` step 2 and `--models`."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

W = 150


def _time_calls(fn: Any, seconds: float = 1.0, min_calls: int = 5) -> float:
    """Median seconds per call over ~`seconds` of calls (after one warm-up call)."""
    fn()
    times: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < min_calls:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _model_proc(model_path: str, batch: int, intra: int, workers: int, engine: str, predict: bool, q: Any) -> None:
    """In a fresh process (TensorFlow's thread pools are fixed at its start): time the Runner's call at
    batch 1 in one thread, and at `batch` in `workers` threads at once; or model.predict() per window."""
    from concurrent.futures import ThreadPoolExecutor

    from hush.runtime.runner import Runner
    from hush.runtime.tfenv import tensorflow

    tensorflow(intra, 0)
    runner = Runner.load(model_path, max_batch=batch, engine=engine, intra_op_threads=intra, workers=workers)
    rng = np.random.default_rng(0)
    if predict:
        x = rng.standard_normal((1, W, 1)).astype(np.float32)
        q.put({"predict_ms": _time_calls(lambda: runner.model.predict(x, verbose=0), seconds=2.0) * 1e3})
        return
    z1, zb = rng.standard_normal((1, W)).astype(np.float32), rng.standard_normal((batch, W)).astype(np.float32)
    b1 = _time_calls(lambda: runner.run_scaled(z1), seconds=2.0)
    # The same call, paced at 200 calls/s (the light load of the end-to-end test): a call 5 ms after the
    # last one runs on cold caches and takes longer than in a hot loop (TensorFlow's long runtime path most).
    paced = []
    for _ in range(400):
        time.sleep(0.005)
        t = time.perf_counter()
        runner.run_scaled(z1)
        paced.append(time.perf_counter() - t)
    calls = max(20, int(20_000 / batch) // workers)

    def work() -> None:
        for _ in range(calls):
            runner.run_scaled(zb)

    work()
    # Three timings, the median kept: one lucky or unlucky second on a shared machine is not the bar.
    rates, cpu = [], []
    with ThreadPoolExecutor(workers) as pool:
        for _ in range(3):
            t, c = time.perf_counter(), time.process_time()  # process_time: every thread, Lite's own included
            for f in [pool.submit(work) for _ in range(workers)]:
                f.result()
            rates.append(workers * calls * batch / (time.perf_counter() - t))
            cpu.append((time.process_time() - c) / (workers * calls * batch))
    q.put({"b1_ms": b1 * 1e3, "b1_paced_p50_ms": float(np.percentile(paced, 50)) * 1e3,  # one dict, one put
           "check": runner.checks.get(engine, ""),
           "b1_paced_p99_ms": float(np.percentile(paced, 99)) * 1e3,
           "batched_windows_per_s": float(np.median(rates)), "batched_runs": rates,
           "batched_cpu_us_per_window": float(np.median(cpu)) * 1e6})


def time_model_in_process(*args: Any) -> dict[str, float]:
    """_model_proc(*args) in a fresh spawned process; its result."""
    spawn = mp.get_context("spawn")
    q = spawn.Queue()
    p = spawn.Process(target=_model_proc, args=(*args, q))
    p.start()
    out = q.get(timeout=600)
    p.join(60)
    return dict(out)


def mflop_per_window(model_path: str | Path) -> float:
    """Multiply-adds x 2 of the model's convolutions and dense layers for one window (the rest is elementwise),
    a network inside it counted once per call (a self-ensemble's, `hush ensemble`, two or four times)."""
    import keras

    from hush.runtime.tfenv import tensorflow

    tensorflow()
    return _flop(keras.models.load_model(model_path, compile=False), keras) / 1e6


def _flop(model: Any, keras: Any) -> float:
    flop = 0.0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            flop += len(layer._inbound_nodes) * _flop(layer, keras)
        elif isinstance(layer, keras.layers.Conv1D | keras.layers.Conv1DTranspose):
            steps, c_out = layer.output.shape[1], layer.output.shape[2]
            k, c_in = layer.kernel.shape[0], layer.kernel.shape[1 if isinstance(layer, keras.layers.Conv1D) else 2]
            flop += 2.0 * steps * k * c_in * c_out * len(layer._inbound_nodes)
        elif isinstance(layer, keras.layers.Dense):
            rows = int(np.prod(layer.output.shape[1:-1]))  # the dense layer's input vectors per window
            flop += 2.0 * rows * layer.kernel.shape[0] * layer.kernel.shape[1] * len(layer._inbound_nodes)
    return flop


def compare_models(paths: list[str], batch: int, workers: int, say: Any = print) -> list[dict[str, Any]]:
    """The model alone for each file, in one run, at its best setting (as `hush bench` step 2 finds it),
    with its windows/s as a ratio to the first file's: the cost of one candidate against another."""
    rows = []
    for path in paths:
        say(f"{path}:")
        m = model_alone(Path(path), batch, workers, say, predict=False)
        rows.append({"model": path, "mflop_per_window": mflop_per_window(path),
                     "batched_windows_per_s": m["batched_windows_per_s"], "b1_ms": m["b1_ms"]})
    say(f"\n{'model':<40}{'MFLOP/window':>14}{'windows/s':>12}{'ratio':>8}{'batch-1 ms':>12}")
    for r in rows:
        r["ratio"] = r["batched_windows_per_s"] / rows[0]["batched_windows_per_s"]
        say(f"{r['model']:<40}{r['mflop_per_window']:>14.2f}{r['batched_windows_per_s']:>12,.0f}{r['ratio']:>8.2f}"
            f"{r['b1_ms']:>12.3f}")
    return rows


FLOAT32 = ("graph", "xla", "lite")


def peak_gflops(cores: int, cpuinfo: str | None = None) -> dict[str, float]:
    """The cores' arithmetic peak, from their vector units (/proc/cpuinfo's flags) and clock (its MHz), two
    fused multiply-add units a core: float32 64 FLOP per cycle with AVX-512, 32 with AVX2 and FMA, 16
    without; int8 four times float32's (four 8-bit lanes in each 32-bit one), or AMX's 2,048; bfloat16 on
    AMX 1,024, with AVX-512 BF16 twice float32's, and none without either (oneDNN emulates it). A physical
    bound, never reached by a network this small; the distance to it is the point."""
    import re

    try:
        text = Path("/proc/cpuinfo").read_text() if cpuinfo is None else cpuinfo
        mhz = max(float(v) for v in re.findall(r"cpu MHz\s*:\s*([\d.]+)", text))
    except (OSError, ValueError):
        return {}
    line = re.search(r"^flags\s*:(.*)$", text, re.M)
    flags = set(line.group(1).split()) if line else set()
    ghz = cores * mhz / 1000
    per_cycle = 64 if "avx512f" in flags else 32 if {"avx2", "fma"} <= flags else 16
    peak = {"clock_ghz": mhz / 1000, "float32": per_cycle * ghz,
            "int8": (2048 if "amx_int8" in flags else 4 * per_cycle) * ghz}
    if "amx_bf16" in flags or "avx512_bf16" in flags:
        peak["bf16"] = (1024 if "amx_bf16" in flags else 2 * per_cycle) * ghz
    return peak


def model_alone(model_path: Path, batch: int, workers: int, say: Any, predict: bool = True) -> dict[str, Any]:
    """Every way of running the model alone that the daemon can be set to; the best is the bar, and the best
    float32 one the bar a reduced-precision engine is measured against."""
    from hush.runtime import bf16
    from hush.runtime.runner import AUTO_REDUCED

    mflop = mflop_per_window(model_path)
    out: dict[str, Any] = {"configs": [], "mflop_per_window": mflop}
    engines = FLOAT32 + ("int8",) + (("bf16",) if bf16.hardware() else ())
    for intra, n in ((0, 1), (1, workers)) if workers > 1 else ((0, 1),):
        for engine in engines:
            r: dict[str, Any] = time_model_in_process(str(model_path), batch, intra, n, engine, False)
            r.update({"intra_op_threads": intra, "workers": n, "engine": engine,
                      "gflops": r["batched_windows_per_s"] * mflop / 1e3})
            out["configs"].append(r)
            say(f"  model, {n} worker(s), threads {intra or 'auto'}, {engine:5s}: batch 1 "
                f"{r['b1_ms']:.3f} ms/call (at 200 calls/s: p50 {r['b1_paced_p50_ms']:.3f}, p99 "
                f"{r['b1_paced_p99_ms']:.3f}); batch {batch}: {r['batched_windows_per_s']:9,.0f} windows/s (median of "
                f"{', '.join(f'{x:,.0f}' for x in r['batched_runs'])}; "
                f"{r['batched_cpu_us_per_window']:.0f} us CPU per window, {r['gflops']:.0f} GFLOP/s)")
    if predict:
        p = time_model_in_process(str(model_path), batch, 0, 1, "graph", True)
        out["predict_ms"], out["predict_windows_per_s"] = p["predict_ms"], 1000 / p["predict_ms"]
        say(f"  model.predict() per window: {p['predict_ms']:.1f} ms/call, {1000 / p['predict_ms']:,.0f} windows/s")
    # What `engine = "auto"` may serve: float32, and bf16 only where its answers passed bf16.check (int8 is
    # served by name only).
    served = [c for c in out["configs"] if c["engine"] in FLOAT32
              or (c["engine"] in AUTO_REDUCED and "within" in c.get("check", ""))]
    checks = {c["check"] for c in out["configs"] if c.get("check")}
    for line in checks:
        say(f"  {line}")
    out["configs_auto_may_serve"] = len(served)
    best_b1 = min(served, key=lambda c: c["b1_ms"])
    out["b1_ms"] = best_b1["b1_ms"]
    out["b1_paced_p50_ms"], out["b1_paced_p99_ms"] = best_b1["b1_paced_p50_ms"], best_b1["b1_paced_p99_ms"]
    best = max(served, key=lambda c: c["batched_windows_per_s"])
    out["batched_windows_per_s"], out["batched_cpu_us_per_window"] = (best["batched_windows_per_s"],
                                                                      best["batched_cpu_us_per_window"])
    out["best"] = {k: best[k] for k in ("engine", "workers", "intra_op_threads")}
    f32 = max((c for c in out["configs"] if c["engine"] in FLOAT32), key=lambda c: c["batched_windows_per_s"])
    out["float32_batched_windows_per_s"] = f32["batched_windows_per_s"]
    out["float32_best"] = {k: f32[k] for k in ("engine", "workers", "intra_op_threads")}
    reduced = [c for c in out["configs"] if c["engine"] not in FLOAT32]
    if reduced:  # the fastest reduced-precision setting, served by auto or not
        r = max(reduced, key=lambda c: c["batched_windows_per_s"])
        out["reduced_batched_windows_per_s"], out["reduced_engine"] = r["batched_windows_per_s"], r["engine"]
        out["reduced_passes_check"] = "within" in r.get("check", "")
        out["reduced_served_by_auto"] = r["engine"] in AUTO_REDUCED and out["reduced_passes_check"]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    out["peak_gflops"] = peak = peak_gflops(cores)
    by_engine = {e: max(c["batched_windows_per_s"] for c in out["configs"] if c["engine"] == e) for e in engines}
    say(f"  {mflop:.2f} MFLOP per window; best windows/s by engine: " + ", ".join(
        f"{e} {v:,.0f} ({v * mflop / 1e3:.0f} GFLOP/s)" for e, v in by_engine.items()))
    if peak:
        say(f"  these {cores} cores' peak at {peak['clock_ghz']:.2f} GHz: " + ", ".join(
            f"{k} {v:,.0f} GFLOP/s" for k, v in peak.items() if k != "clock_ghz"))
    return out
