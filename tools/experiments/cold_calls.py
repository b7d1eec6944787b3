"""Why a batch-1 call is slower at 200 windows/s than in a hot loop (docs/performance.md, "Light load").

Times the runner's batch-1 call on each engine (graph, XLA, TensorFlow Lite), a NumPy version of the same
network and a pure-Python loop (the control: no library, no threads), 0, 1 or 5 ms after the previous call,
sleeping or busy-waiting in the gap. Every call draws its function and gap at random, so a drift of the
shared machine during the run falls on all of them alike (an earlier version timed one gap after the
other, and mistook such drift for a penalty of the CPU itself). Run from the repository root:

    .venv/bin/python tools/experiments/cold_calls.py
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import numpy as np

from hush.paths import DEFAULT_MODEL
from hush.runtime.runner import Runner
from hush.runtime.tfenv import tensorflow


def numpy_net(model: object) -> Callable[[np.ndarray], np.ndarray]:
    """The shipped residual network in NumPy (im2col + matmul per layer): the same arithmetic, no TensorFlow."""
    layers = [(lay.get_weights(), lay.dilation_rate[0], lay.activation.__name__)  # type: ignore[attr-defined]
              for lay in model.layers if lay.name.startswith("conv") or lay.name == "noise"]  # type: ignore[attr-defined]

    def run(x: np.ndarray) -> np.ndarray:
        h = x[:, :, None]
        for (w, b), d, act in layers:
            k, cin, cout = w.shape
            pad = d * (k - 1) // 2
            hp = np.pad(h, ((0, 0), (pad, pad), (0, 0)))
            cols = np.concatenate([hp[:, i * d:i * d + x.shape[1], :] for i in range(k)], axis=2)
            h = cols @ w.reshape(k * cin, cout) + b
            if act == "relu":
                np.maximum(h, 0, out=h)
        return x - h[:, :, 0]

    return run


def python_loop() -> int:
    s = 0
    for i in range(4000):
        s += i * i
    return s


def main(calls: int = 12_000) -> None:
    tensorflow(1, 0)
    runners = {e: Runner.load(DEFAULT_MODEL, max_batch=64, engine=e, intra_op_threads=1)  # as with 2 workers
               for e in ("graph", "xla", "lite")}
    x = np.random.default_rng(0).standard_normal((1, 150)).astype(np.float32)
    net = numpy_net(runners["graph"].model)
    print(f"NumPy version max |difference| from the model: {np.abs(net(x) - runners['graph'].run_scaled(x)).max():.2e}")
    fns: dict[str, Callable[[], object]] = {f"model call, {e}": (lambda r=r: r.run_scaled(x))  # type: ignore[misc]
                                            for e, r in runners.items()}
    fns.update({"NumPy same net": lambda: net(x), "pure Python loop": python_loop})
    gaps = [(0.0, False), (0.001, False), (0.001, True), (0.005, False), (0.005, True)]
    times: dict[tuple[str, float, bool], list[float]] = {}
    for _ in range(calls):
        name, (gap, spin) = random.choice(list(fns)), random.choice(gaps)
        if spin:
            end = time.perf_counter() + gap
            while time.perf_counter() < end:
                pass
        elif gap:
            time.sleep(gap)
        t = time.perf_counter()
        fns[name]()
        times.setdefault((name, gap, spin), []).append(time.perf_counter() - t)
    print(f"{'':18s}" + "".join(f"{f'{g * 1e3:.0f} ms ' + ('spin' if s else 'sleep'):>20s}" for g, s in gaps))
    for name in fns:
        cells = []
        for gap, spin in gaps:
            ms = np.array(times.get((name, gap, spin), [np.nan])) * 1e3
            cells.append(f"{np.percentile(ms, 50):8.3f} / {np.percentile(ms, 99):6.3f}  ")
        print(f"{name:18s}" + "".join(f"{c:>20s}" for c in cells))
    print("(p50 / p99 ms per call, by the gap before it)")


if __name__ == "__main__":
    main()
