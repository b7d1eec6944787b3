"""The model runner: a Hush model file behind compiled calls, in the input's units.

Batches are padded up to a few bucket sizes, and every bucket is built and run before the first window
arrives. Five engines: TensorFlow's graph (a concrete function with a fixed input signature, traced once),
the same XLA-compiled, TensorFlow Lite with XNNPACK (lite.py), the same with int8 weights and activations
quantised at run time (lite.py; by name only), and the graph with the inner convolutions in bfloat16
(bf16.py; on cores with bfloat16 arithmetic). A reduced-precision engine is checked against float32 at start
(bf16.check); "auto" serves bf16 only when it passes, times the engines per bucket and keeps the fastest.
Never `model.predict()` per window: ~50 ms a call against ~0.2 ms for this path (docs/performance.md).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hush import faults, modelfile, scaling
from hush.runtime import bf16
from hush.runtime.lite import Lite, convert
from hush.runtime.tfenv import tensorflow

log = logging.getLogger("hush.runner")
ENGINES = ("auto", "lite", "xla", "graph", "int8", "bf16")
REDUCED = ("int8", "bf16")  # reduced precision: checked against float32 at start (bf16.check)
AUTO_REDUCED = ("bf16",)  # those "auto" may serve, when the check passes and the cores have the arithmetic


def buckets_for(max_batch: int) -> list[int]:
    """Batch sizes the runner pads to: powers of two up to a step of max_batch / 8 (at least 8), then every
    multiple of that step, then max_batch itself. Under load the daemon's batches are anywhere between half
    and all of max_batch; padding 33 windows up to 64 would waste half the call, up to 40 wastes 7 (and
    multi-window messages of 8 windows fill multiples of 8 exactly). At most ~12 shapes to warm up."""
    step = max(8, max_batch // 8)
    sizes, b = [], 1
    while b < min(step, max_batch):
        sizes.append(b)
        b *= 2
    sizes += range(min(step, max_batch), max_batch, step)
    return sizes + [max_batch]


def _forward(net: Any, tf: Any) -> Callable[[Any], Any]:
    """The network's inference call, answering float32 (bf16.variant's last layer is float32 already)."""

    def forward(x: Any) -> Any:
        return tf.cast(net(x, training=False), tf.float32)

    return forward


def _tensor_call(call: Any, tf: Any) -> Callable[[np.ndarray], np.ndarray]:
    def run(z: np.ndarray) -> np.ndarray:
        return call(tf.constant(z[:, :, None])).numpy()[:, :, 0]

    return run


class Runner:
    """Denoise (n, W) float64 windows with a model file; n may be anything (chunks of max_batch). Thread-safe:
    the daemon's model workers share one Runner."""

    def __init__(self, model: Any, meta: dict[str, Any], max_batch: int = 64, engine: str = "graph", tf: Any = None,
                 threads: int = 1):
        tf = tf or tensorflow()
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        self.model, self.meta = model, meta
        self.window: int = meta["window"]
        self.scaling: str = meta["scaling"]
        self.model_id: str = meta["id"]
        self.max_batch = max_batch
        self.buckets = buckets_for(max_batch)
        self.engine = engine
        self._tf = tf
        # Not int8: even within its check it answers further from float32 than the float32 engines from each
        # other, so a window's answer would depend on the batch it lands in, for 0.9-1.2x float32's rate at
        # full batches (docs/performance.md).
        names: tuple[str, ...] = ("graph", "xla", "lite") if engine == "auto" else (engine,)
        if engine == "auto" and bf16.hardware():
            names += AUTO_REDUCED
        # name -> call on a (b, W) float32 array, b one of the buckets.
        self._engines: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
        self.lite: Lite | None = None  # lite or int8: one of them at most (auto never tries int8)
        spec = tf.TensorSpec([None, self.window, 1], tf.float32)
        for name in names:
            if name in ("lite", "int8"):
                try:
                    flatbuffer = convert(model, self.model_id, tf, int8=name == "int8")
                except Exception as exc:  # a layer TensorFlow Lite has no kernel for, say
                    if engine == name:
                        raise modelfile.ModelFileError(
                            f"model {self.model_id}: TensorFlow Lite cannot convert it ({exc}"[:300] + "); "
                            "serve it with engine = \"graph\" or \"xla\"") from None
                    log.warning("model %s: TensorFlow Lite cannot convert it (%s); no %s engine", self.model_id,
                                str(exc)[:200], name)
                    continue
                self.lite = Lite(flatbuffer, self.window, self.buckets, threads, tf)
                self._engines[name] = self.lite
                continue
            net = model
            if name == "bf16":
                try:
                    net = bf16.variant(model)
                except ValueError as exc:
                    if engine == "bf16":
                        raise modelfile.ModelFileError(f"model {self.model_id}: no bfloat16 engine: {exc}") from None
                    continue
            # The concrete function, called with a tensor: a tf.function's own dispatch (binding arguments,
            # looking up its traces) costs ~120 us a call here, a quarter of a batch-1 call. A closure, not a
            # lambda with the network as a default argument: that doubled a batch-1 call (2.67 vs 0.92 ms).
            call = tf.function(_forward(net, tf), input_signature=[spec],
                               jit_compile=name == "xla").get_concrete_function()
            self._engines[name] = _tensor_call(call, tf)
        self.checks: dict[str, str] = {}  # reduced-precision engine -> the log line of its check (warm_up)
        self.choice = {b: names[0] for b in self.buckets}  # bucket -> engine; warm_up may choose
        self._call_for = {b: self._engines[names[0]] for b in self.buckets}

    @classmethod
    def load(cls, path: str | Path, max_batch: int = 64, engine: str = "graph", intra_op_threads: int = 0,
             inter_op_threads: int = 0, warm: bool = True, workers: int = 1) -> Runner:
        """Load and check a model file; raise ModelFileError when it cannot be served. `workers`: threads that
        will call at once (each gets its own Lite interpreters when warming up)."""
        meta = modelfile.read_meta(path)
        tf = tensorflow(intra_op_threads, inter_op_threads)
        import keras

        try:
            model = keras.models.load_model(path, compile=False)
        except Exception as exc:
            raise modelfile.ModelFileError(f"{path}: Keras cannot load the model: {exc}") from None
        w = meta["window"]
        shapes = [tuple(model.input_shape), tuple(model.output_shape)]
        if shapes[0] != (None, w, 1) or shapes[1] != (None, w, 1):
            raise modelfile.ModelFileError(
                f"{path}: model maps {shapes[0]} -> {shapes[1]}; expected (None, {w}, 1) -> (None, {w}, 1)"
            )
        runner = cls(model, meta, max_batch, engine, tf, threads=intra_op_threads or os.cpu_count() or 1)
        if warm:
            runner.warm_up(workers)
        return runner

    def warm_up(self, workers: int = 1) -> None:
        """Build and run every bucket before the first window arrives. With engine="auto", time each bucket
        on every engine and keep the fastest (on this machine Lite wins at small batches, and large ones go
        either way by a few percent: docs/performance.md)."""
        if self.lite is not None:
            self.lite.prepare(workers)
        for name in REDUCED:
            if name in self._engines:
                self._check(name)
        for b in self.buckets:
            z = np.zeros((b, self.window), np.float32)
            best = None
            for name, call in self._engines.items():
                call(z)  # build (XLA: compile once per shape)
                if len(self._engines) == 1:
                    break
                times = []
                for _ in range(7):
                    t = time.perf_counter()
                    call(z)
                    times.append(time.perf_counter() - t)
                dt = float(np.median(times))
                if best is None or dt < best[0]:
                    best = (dt, name)
            if best is not None:
                self.choice[b] = best[1]
        self._call_for = {b: self._engines[name] for b, name in self.choice.items()}
        if self.engine == "auto":
            log.info("engine by batch size: %s", ", ".join(f"{b}:{c}" for b, c in self.choice.items()))

    def _check(self, name: str) -> None:
        """bf16.check of a reduced-precision engine against float32 (the graph, or whichever float32 engine
        there is); auto drops it when outside the tolerance, one asked for by name is served with a warning."""
        ref_name = next((n for n in ("graph", "lite", "xla") if n in self._engines), None)
        if ref_name is None:  # a reduced-precision engine alone: a float32 graph to compare with
            spec = self._tf.TensorSpec([None, self.window, 1], self._tf.float32)
            ref = _tensor_call(self._tf.function(_forward(self.model, self._tf), input_signature=[spec])
                               .get_concrete_function(), self._tf)
        else:
            ref = self._engines[ref_name]
        ok, line = bf16.check(lambda z: self.run_scaled(z, ref), lambda z: self.run_scaled(z, self._engines[name]),
                              self.window, self.scaling, bf16.LABELS[name])
        self.checks[name] = line
        if ok:
            log.info("model %s: %s", self.model_id, line)
        elif self.engine == name:
            log.warning("model %s: %s; serving %s as configured", self.model_id, line, name)
        else:
            log.warning("model %s: %s; not using it", self.model_id, line)
            del self._engines[name]

    def run_scaled(self, z: np.ndarray, call: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
        """Model outputs for scaled windows z (n, W) float32, padding each chunk up to a bucket; through
        `call` instead of each bucket's engine when given."""
        z = np.asarray(z, np.float32)  # no copy for scaling.forward's output; Lite takes float32 only
        n = z.shape[0]
        out = np.empty((n, self.window), np.float32)
        for start in range(0, n, self.max_batch):
            chunk = z[start:start + self.max_batch]
            m = chunk.shape[0]
            b = next(s for s in self.buckets if s >= m)
            if b != m:
                chunk = np.concatenate([chunk, np.zeros((b - m, self.window), np.float32)])
            if faults.HOOKS:  # tests only: no string is built per call otherwise
                faults.hit("engine")
                faults.hit(f"engine:{self.choice[b]}")
            out[start:start + m] = (call or self._call_for[b])(chunk)[:m]
        return out

    def denoise(self, x: np.ndarray) -> np.ndarray:
        """Denoised windows, in the input's units, for x (n, W) float64."""
        faults.hit("scale")
        z, state = scaling.forward(x, self.scaling)
        y = self.run_scaled(z)
        faults.hit("inverse")
        return scaling.inverse(y, state)
