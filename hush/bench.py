"""`hush bench`: how fast Hush is on this machine, as ratios measured in one run.

Absolute times drift on shared machines; ratios taken minutes apart in one run hold. It measures:
1. the model alone through the daemon's Runner: batch 1 and the daemon's batch, on each engine (graph, XLA,
   TensorFlow Lite) and thread setting the daemon can use, and the naive `model.predict()` per window;
2. the daemon's own cost per window, stage by stage (receive, decode, scale, encode, send), no model, and
   the transport alone (the same load through a bare forwarder): its latency at 200/s, and its CPU per
   message at the throughput goal's rate, which with the model's CPU per window bounds what one-window
   messages can reach on these cores through any daemon that costs no more than that forwarder;
3. end to end, `hush serve` in its own process over TCP loopback: a paced load generator (its own process,
   timestamps only, no per-sample Python) and a subscriber that records when each seq came back. The
   highest offered rate answered in full with bounded latency is the sustained throughput; latency
   percentiles at several offered loads.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import zmq

from hush import protocol, scaling
from hush.paths import DEFAULT_MODEL

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

    from hush.daemon.runner import Runner
    from hush.tfenv import tensorflow

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
    """Multiply-adds x 2 of the model's convolutions for one window (the rest is elementwise)."""
    import keras

    from hush.tfenv import tensorflow

    tensorflow()
    model = keras.models.load_model(model_path, compile=False)
    flop = 0.0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv1D | keras.layers.Conv1DTranspose):
            steps, c_out = layer.output.shape[1], layer.output.shape[2]
            k, c_in = layer.kernel.shape[0], layer.kernel.shape[1 if isinstance(layer, keras.layers.Conv1D) else 2]
            flop += 2.0 * steps * k * c_in * c_out
    return flop / 1e6


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


def model_alone(model_path: Path, batch: int, workers: int, say: Any, predict: bool = True) -> dict[str, Any]:
    """Every way of running the model alone that the daemon can be set to; the best is the bar."""
    out: dict[str, Any] = {"configs": []}
    for intra, n in ((0, 1), (1, workers)) if workers > 1 else ((0, 1),):
        for engine in ("graph", "xla", "lite"):
            r: dict[str, Any] = time_model_in_process(str(model_path), batch, intra, n, engine, False)
            r.update({"intra_op_threads": intra, "workers": n, "engine": engine})
            out["configs"].append(r)
            say(f"  model, {n} worker(s), threads {intra or 'auto'}, {engine:5s}: batch 1 "
                f"{r['b1_ms']:.3f} ms/call (at 200 calls/s: p50 {r['b1_paced_p50_ms']:.3f}, p99 "
                f"{r['b1_paced_p99_ms']:.3f}); batch {batch}: {r['batched_windows_per_s']:9,.0f} windows/s (median of "
                f"{', '.join(f'{x:,.0f}' for x in r['batched_runs'])}; "
                f"{r['batched_cpu_us_per_window']:.0f} us CPU per window)")
    if predict:
        p = time_model_in_process(str(model_path), batch, 0, 1, "graph", True)
        out["predict_ms"], out["predict_windows_per_s"] = p["predict_ms"], 1000 / p["predict_ms"]
        say(f"  model.predict() per window: {p['predict_ms']:.1f} ms/call, {1000 / p['predict_ms']:,.0f} windows/s")
    best_b1 = min(out["configs"], key=lambda c: c["b1_ms"])
    out["b1_ms"] = best_b1["b1_ms"]
    out["b1_paced_p50_ms"], out["b1_paced_p99_ms"] = best_b1["b1_paced_p50_ms"], best_b1["b1_paced_p99_ms"]
    best = max(out["configs"], key=lambda c: c["batched_windows_per_s"])
    out["batched_windows_per_s"], out["batched_cpu_us_per_window"] = (best["batched_windows_per_s"],
                                                                      best["batched_cpu_us_per_window"])
    return out


def daemon_stages(n: int = 20_000) -> dict[str, float]:
    """Microseconds per window of each stage the daemon does besides the model, over real loopback sockets."""
    ctx = zmq.Context()
    a, b = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    a.setsockopt(zmq.SNDHWM, 0)
    b.setsockopt(zmq.RCVHWM, 0)
    port = b.bind_to_random_port("tcp://127.0.0.1")
    a.connect(f"tcp://127.0.0.1:{port}")
    x = np.random.default_rng(0).standard_normal(W)
    frames = protocol.encode_window("bench/s", 0, x, "<f4", t=1.0, rate=100.0)
    stages: dict[str, float] = {}

    t = time.perf_counter()
    for _ in range(n):
        a.send_multipart(frames)
    stages["send"] = time.perf_counter() - t
    t = time.perf_counter()
    got = [b.recv_multipart() for _ in range(n)]
    stages["receive"] = time.perf_counter() - t
    t = time.perf_counter()
    wins = [protocol.decode_window(f, W) for f in got]
    stages["decode"] = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(0, n, 64):
        chunk = wins[i:i + 64]
        xb = np.concatenate([w.samples for w in chunk])
        z, state = scaling.forward(xb, "standardize")
        scaling.inverse(z, state)
    stages["batch + scale"] = time.perf_counter() - t
    t = time.perf_counter()
    for w in wins:
        protocol.encode_output(w, w.samples, "m")
    stages["encode"] = time.perf_counter() - t
    a.close(linger=0)
    b.close(linger=0)
    ctx.term()
    return {k: v / n * 1e6 for k, v in stages.items()}


def _generator(endpoint: str, rate: float, seconds: float, k: int, result: Any) -> None:
    """Paced load: `rate` windows/s in messages of k windows, for `seconds`; send times go to `result`."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.XPUB)
    sock.setsockopt(zmq.SNDHWM, 0)
    sock.connect(endpoint)
    sock.poll(30_000)
    sock.recv()  # the daemon subscribed
    samples = np.random.default_rng(1).standard_normal(k * W).astype("<f4").tobytes()
    n = max(1, int(rate * seconds / k))
    # Packed before the clock starts: the generator shares the daemon's 2 cores, so it does as little as it
    # can while the load runs.
    bodies = [msgpack.packb({"seq": i, "samples": samples, "dtype": "<f4"}) for i in range(n)]
    sent = np.zeros(n)
    interval = k / rate
    start = time.perf_counter() + 0.05
    i, cpu = 0, time.process_time()
    # Bursts every millisecond rather than a busy-wait per message: spinning would take a core away from
    # the daemon on a 2-core machine. Each message's own send time is recorded.
    while i < n:
        due = min(n, int((time.perf_counter() - start) / interval) + 1)
        while i < due:
            sent[i] = time.perf_counter()
            sock.send(b"bench/load", zmq.SNDMORE)
            sock.send(bodies[i])
            i += 1
        time.sleep(0.001)
    result.put((sent.tobytes(), time.process_time() - cpu))
    sock.close(linger=10_000)
    ctx.term()


def offered_load(inp: str, out: str, rate: float, seconds: float, k: int) -> dict[str, float]:
    """Offer `rate` windows/s for `seconds`; count what comes back and how late."""
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"bench/")
    sub.setsockopt(zmq.SUBSCRIBE, protocol.READY_TOPIC)
    sub.connect(out)
    while sub.recv_multipart()[0] != protocol.READY_TOPIC:
        pass
    spawn = mp.get_context("spawn")
    q = spawn.Queue()
    gen = spawn.Process(target=_generator, args=(inp, rate, seconds, k, q))
    gen.start()
    n = max(1, int(rate * seconds / k))
    # Timestamp on arrival, decode after the run (less CPU taken from the daemon while it runs). (Reading in
    # 1 ms gulps instead of waking for each message was tried: the same CPU per message, within the noise.)
    arrivals: list[tuple[float, bytes]] = []
    cpu = time.process_time()  # this process: the subscriber and its ZeroMQ I/O thread
    while len(arrivals) < n and sub.poll(3000):
        while True:
            try:
                topic, body = sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            if topic != protocol.READY_TOPIC:
                arrivals.append((time.perf_counter(), body))
    cpu = time.process_time() - cpu
    recv_t = np.full(n, np.nan)
    for t, body in arrivals:
        recv_t[msgpack.unpackb(body)["seq"]] = t
    got = int(np.isfinite(recv_t).sum())
    sent_bytes, gen_cpu = q.get(timeout=60)
    sent = np.frombuffer(sent_bytes, dtype=np.float64)
    gen.join(30)
    sub.close(linger=0)
    ctx.term()
    lat = (recv_t - sent)[np.isfinite(recv_t)] * 1e3
    span = np.nanmax(recv_t) - sent[0] if got else float("nan")
    return {"offered_windows_per_s": rate, "k": k, "sent": n * k, "received": got * k, "lost": (n - got) * k,
            "achieved_windows_per_s": got * k / span if got else 0.0,
            "p50_ms": float(np.percentile(lat, 50)) if got else float("nan"),
            "p99_ms": float(np.percentile(lat, 99)) if got else float("nan"),
            "max_ms": float(lat.max()) if got else float("nan"), "clients_cpu_s": gen_cpu + cpu}


def _forwarder(inp: str, out: str, ready: Any) -> None:
    """The transport alone: what comes in on a SUB socket goes out unchanged on an XPUB, from one Python
    thread (greeting subscriptions like the daemon). Runs until terminated."""
    ctx = zmq.Context()
    sub, pub = ctx.socket(zmq.SUB), ctx.socket(zmq.XPUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    pub.setsockopt(zmq.XPUB_VERBOSE, 1)
    sub.bind(inp)
    pub.bind(out)
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    poller.register(pub, zmq.POLLIN)
    ready.put(True)
    while True:
        events = dict(poller.poll())
        if pub in events and pub.recv()[:1] == b"\x01":
            pub.send_multipart([protocol.READY_TOPIC, msgpack.packb({})])
        if sub in events:
            while True:  # everything that has arrived
                try:
                    pub.send_multipart(sub.recv_multipart(zmq.NOBLOCK))
                except zmq.Again:
                    break


@contextmanager
def forwarder() -> Iterator[tuple[str, str, int]]:
    """A bare forwarder (_forwarder) in its own process on loopback: yields its (input, output) endpoints
    and its pid.
    The same generator and subscriber through it instead of the daemon measure the transport alone: two
    loopback hops and three processes waking, no decoding, no model."""
    from hush.demo import free_port

    inp, out = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    spawn = mp.get_context("spawn")
    ready = spawn.Queue()
    proc = spawn.Process(target=_forwarder, args=(inp, out, ready), daemon=True)
    proc.start()
    try:
        ready.get(timeout=60)
        assert proc.pid is not None  # started
        yield inp, out, proc.pid
    finally:
        proc.terminate()
        proc.join(10)


def proc_stat(path: str) -> tuple[str, float] | None:
    """(name, CPU seconds used so far, user + system) from a Linux /proc/<pid>/stat or
    /proc/<pid>/task/<tid>/stat file; None when it is not there."""
    try:
        stat = Path(path).read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return stat[stat.index("(") + 1:stat.rindex(")")], (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """CPU time (every thread) process `pid` has used so far; None without Linux's /proc."""
    stat = proc_stat(f"/proc/{pid}/stat")
    return stat[1] if stat else None


def transport_cost(f_in: str, f_out: str, pid: int, rate: float, seconds: float) -> dict[str, float] | None:
    """CPU per message of the transport alone at `rate` one-window messages/s through the forwarder `pid`:
    the generator, the forwarder and the subscriber together, i.e. what a daemon that did nothing but pass
    messages on would still cost, with the bench's own clients, on this machine's cores."""
    before = cpu_seconds(pid)
    r = offered_load(f_in, f_out, rate, seconds, 1)
    after = cpu_seconds(pid)
    if before is None or after is None or not r["received"]:
        return None
    return {"rate": rate, "received": r["received"], "lost": r["lost"],
            "cpu_us_per_message": (after - before + r["clients_cpu_s"]) / r["received"] * 1e6,
            "clients_cpu_us_per_message": r["clients_cpu_s"] / r["received"] * 1e6}


def start_daemon(model: Path, inp: str, out: str, flags: list[str], log: Path) -> Any:
    fh = open(log, "w")
    proc = subprocess.Popen([sys.executable, "-m", "hush.cli", "serve", "--model", str(model), "--input", inp,
                             "--output", out, *flags], stdout=fh, stderr=subprocess.STDOUT)
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, protocol.READY_TOPIC)
    sub.connect(out)
    ok = sub.poll(120_000)
    sub.close(linger=0)
    ctx.term()
    if not ok:
        proc.kill()
        raise RuntimeError(f"hush serve did not start; see {log}")
    return proc


def bench(out_dir: str | Path = "bench-out", model: str | None = None, max_batch: int = 64,
          max_wait_ms: float = 0.0, seconds: float = 4.0, quick: bool = False, serve_flags: list[str] | None = None,
          workers: int = 2, say: Any = print) -> dict[str, Any]:
    from hush.demo import free_port

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model_path = Path(model) if model else DEFAULT_MODEL
    flags = ["--max-batch", str(max_batch), "--max-wait-ms", str(max_wait_ms), *(serve_flags or [])]
    result: dict[str, Any] = {"model": str(model_path), "max_batch": max_batch, "max_wait_ms": max_wait_ms,
                              "serve_flags": flags, "cores": len(os.sched_getaffinity(0))
                              if hasattr(os, "sched_getaffinity") else os.cpu_count()}
    # The stages run first: once TensorFlow has run in a process, its thread pools keep spinning for a
    # while and would be charged to the stages.
    say("1. the daemon's own cost per window, stage by stage (no model, TensorFlow not yet loaded)")
    result["daemon_stages_us"] = st = daemon_stages(5000 if quick else 20_000)
    for k, v in st.items():
        say(f"  {k:14s} {v:7.1f} us")
    say(f"  {'total':14s} {sum(st.values()):7.1f} us per window")
    say("2. the model alone, each setting in a fresh process (the daemon's Runner: padding included)")
    result["model_alone"] = m = model_alone(model_path, max_batch, workers, say)

    say(f"3. end to end over TCP loopback: hush serve {' '.join(flags)}")
    inp, outp = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    proc = start_daemon(model_path, inp, outp, flags, out / "serve.log")
    batched = m["batched_windows_per_s"]
    runs: list[dict[str, float]] = []
    floor: list[dict[str, float]] = []
    try:
        # 200 windows/s, three times, each time also through a bare forwarder (the transport alone): a p99
        # of 2,000 windows moves from one run to the next here, and the two are compared run by run.
        with forwarder() as (f_in, f_out, f_pid):
            offered_load(inp, outp, 200, 1.0, 1)  # warm both paths
            offered_load(f_in, f_out, 200, 1.0, 1)
            for _ in range(1 if quick else 3):
                floor.append(offered_load(f_in, f_out, 200, 10.0, 1))
                say(f"  transport alone (a bare forwarder, no daemon): latency ms p50 {floor[-1]['p50_ms']:.2f} "
                    f"p99 {floor[-1]['p99_ms']:.2f}")
                runs.append(offered_load(inp, outp, 200, 10.0, 1))
                _say_run(say, runs[-1])
            # What passing one-window messages costs at the rate the throughput goal asks for, daemon aside.
            result["transport_cost"] = tc = transport_cost(f_in, f_out, f_pid, 0.8 * batched, seconds)
            if tc:
                say(f"  transport alone at {tc['rate']:,.0f} messages/s: {tc['cpu_us_per_message']:.1f} us CPU per "
                    f"message (generator + forwarder + subscriber; the clients {tc['clients_cpu_us_per_message']:.1f}),"
                    f" lost {tc['lost']:.0f}")
        result["transport_floor"] = {"p50_ms": float(np.median([r["p50_ms"] for r in floor])),
                                     "p99_ms": float(np.median([r["p99_ms"] for r in floor])), "runs": floor}
        for rate in [1000.0] if quick else [500.0, 1000.0, 2000.0]:
            # At least 2,000 windows per light point: its p99 is then the 20th-worst window, not the 8th.
            runs.append(offered_load(inp, outp, rate, max(seconds, 2000 / rate), 1))
            _say_run(say, runs[-1])
        for per_message in (1, 8):
            for frac in ((0.6, 0.9) if quick else (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0, 1.1)):
                runs.append(offered_load(inp, outp, frac * batched, seconds, per_message))
                _say_run(say, runs[-1])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    result["runs"] = runs

    summarize(result)
    say("\n" + table(result))
    (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(out / "latency.png", runs)
    say(f"wrote {out / 'bench.json'} and {out / 'latency.png'}")
    return dict(result["ratios"])


def summarize(result: dict[str, Any]) -> None:
    """Add the sustained rates and the issue's ratios to `result` (its "model_alone" and "runs").

    Sustained, for k windows per message: the best achieved rate of a load point that lost nothing, kept
    p99 under 250 ms and achieved 95 % of what was offered."""
    m, runs = result["model_alone"], result["runs"]
    batched = m["batched_windows_per_s"]

    def sustained(k: int) -> float:
        ok = [r for r in runs if r["k"] == k and r["lost"] == 0 and r["p99_ms"] < 250
              and r["achieved_windows_per_s"] >= 0.95 * r["offered_windows_per_s"]]
        return max((r["achieved_windows_per_s"] for r in ok), default=0.0)

    p99_200 = float(np.median([r["p99_ms"] for r in runs if r["offered_windows_per_s"] == 200.0]))  # of 1-3 runs
    result["ratios"] = {
        "sustained_k1_over_model_batched": sustained(1) / batched,
        "sustained_k8_over_model_batched": sustained(8) / batched,
        "model_batched_over_predict": batched / m["predict_windows_per_s"],
        "sustained_best_over_predict": max(sustained(1), sustained(8)) / m["predict_windows_per_s"],
        "p99_at_200_over_model_b1": p99_200 / m["b1_ms"],
        "p99_at_200_over_model_b1_paced_p99": p99_200 / m["b1_paced_p99_ms"],
    }
    if "transport_floor" in result:  # what the daemon adds to the transport's own p99, in batch-1 calls
        result["ratios"]["p99_at_200_above_transport_over_model_b1"] = (
            (p99_200 - result["transport_floor"]["p99_ms"]) / m["b1_ms"])
    result["sustained_windows_per_s"] = {"k1": sustained(1), "k8": sustained(8)}
    tc = result.get("transport_cost")
    if tc:  # the most one-window messages these cores can carry if the daemon cost no more than the forwarder
        cores = result["cores"]
        ceiling = cores * 1e6 / (m["batched_cpu_us_per_window"] + tc["cpu_us_per_message"])
        result["k1_ceiling_windows_per_s"] = ceiling
        result["ratios"]["k1_ceiling_over_model_batched"] = ceiling / batched
        # At the goal's 0.8, what each message may cost the daemon beyond what the forwarder spends on it
        result["k1_budget_us_at_goal"] = (cores * 1e6 / (0.8 * batched) - m["batched_cpu_us_per_window"]
                                          - tc["cpu_us_per_message"])
    # The best load point that passed; say so when a lower one did not (a noisy moment on a shared machine,
    # or a real limit: the JSON has every run).
    result["first_loss_windows_per_s"] = {f"k{k}": min((r["offered_windows_per_s"] for r in runs
                                                        if r["k"] == k and r["lost"]), default=None) for k in (1, 8)}


def _say_run(say: Any, r: dict[str, float]) -> None:
    say(f"  offered {r['offered_windows_per_s']:8,.0f} win/s (k={r['k']:.0f}): achieved "
        f"{r['achieved_windows_per_s']:8,.0f}, lost {r['lost']:.0f}/{r['sent']:.0f}, latency ms p50 "
        f"{r['p50_ms']:.2f} p99 {r['p99_ms']:.2f} max {r['max_ms']:.2f}")


def table(r: dict[str, Any]) -> str:
    m, ra, s = r["model_alone"], r["ratios"], r["sustained_windows_per_s"]
    rows = [
        ("model alone, batch 1 (best setting)", f"{m['b1_ms']:.3f} ms per call"),
        (f"model alone, batch {r['max_batch']} (best setting)", f"{m['batched_windows_per_s']:,.0f} windows/s"),
        ("model.predict() per window", f"{m['predict_windows_per_s']:,.0f} windows/s"),
        ("end to end, sustained, zero loss", f"{s['k1']:,.0f} windows/s (1 per message), "
                                             f"{s['k8']:,.0f} (8 per message)"),
        ("  lowest offered load that lost windows", ", ".join(
            f"{'-' if v is None else f'{v:,.0f}'} (k={k[1:]})" for k, v in r["first_loss_windows_per_s"].items())),
        ("daemon's own cost, no model", f"{sum(r['daemon_stages_us'].values()):.1f} us per window"),
        ("ratio: end to end / model batched", f"{ra['sustained_k1_over_model_batched']:.2f} (k=1), "
                                              f"{ra['sustained_k8_over_model_batched']:.2f} (k=8)   goal >= 0.8"),
        *([("  k=1 ceiling on these cores", f"{ra['k1_ceiling_over_model_batched']:.2f} ({r['cores']} cores / "
            f"(model {m['batched_cpu_us_per_window']:.0f} + transport {r['transport_cost']['cpu_us_per_message']:.0f}"
            " us CPU per window): a daemon costing no more than a bare forwarder)"),
           ("  k=1 at 0.8 leaves the daemon", f"{r['k1_budget_us_at_goal']:.1f} us CPU per message beyond a bare "
            f"forwarder's; decode + batch + encode alone take {_own_work_us(r):.1f} (stage 1)")]
          if "k1_ceiling_over_model_batched" in ra else []),
        ("ratio: model batched / predict()", f"{ra['model_batched_over_predict']:,.0f}x"),
        ("ratio: end to end / predict()", f"{ra['sustained_best_over_predict']:,.0f}x   goal >= 300"),
        ("ratio: p99 at 200/s / model batch 1", f"{ra['p99_at_200_over_model_b1']:.2f}   goal <= 3"),
        ("  same, over the batch-1 call's own p99", f"{ra['p99_at_200_over_model_b1_paced_p99']:.2f}   (model "
                                                    f"alone at 200 calls/s: p99 {m['b1_paced_p99_ms']:.3f} ms)"),
    ]
    if "transport_floor" in r:
        fl = r["transport_floor"]
        rows += [("  transport alone at 200/s (no daemon)",
                  f"p50 {fl['p50_ms']:.2f} ms, p99 {fl['p99_ms']:.2f} ms"),
                 ("  end to end p99 above the transport's", f"{ra['p99_at_200_above_transport_over_model_b1']:.2f} "
                                                          "batch-1 calls")]
    return "\n".join(f"{a:<42}{b_}" for a, b_ in rows)


def _own_work_us(r: dict[str, Any]) -> float:
    """The daemon's stages a forwarder does not do (it receives and sends too), in us per window."""
    return sum(v for k, v in r["daemon_stages_us"].items() if k not in ("receive", "send"))


def plot(path: Path, runs: list[dict[str, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for k, marker in ((1, "o"), (8, "s")):
        rs = sorted((r for r in runs if r["k"] == k), key=lambda r: r["offered_windows_per_s"])
        x = [r["offered_windows_per_s"] for r in rs]
        ax.plot(x, [r["p50_ms"] for r in rs], marker=marker, label=f"p50, {k} window(s)/message")
        ax.plot(x, [r["p99_ms"] for r in rs], marker=marker, ls="--", label=f"p99, {k} window(s)/message")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("offered load, windows/s")
    ax.set_ylabel("end-to-end latency, ms")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)

