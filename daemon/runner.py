"""The model runner: a Hush model file behind one compiled call, in the input's units.

The call has a fixed input signature (batch, W, 1) and batches are padded up to a few bucket sizes, so the
graph is traced once and every shape it will see is warmed up before the first window arrives. Never
`model.predict()` per window: it costs ~60 ms a call against ~1 ms for this path (docs/performance.md).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from hush import modelfile, scaling
from hush.tfenv import tensorflow

log = logging.getLogger("hush.runner")
XLA_MODES = ("off", "on", "auto")


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


class Runner:
    """Denoise (n, W) float64 windows with a model file; n may be anything (chunks of max_batch)."""

    def __init__(self, model: Any, meta: dict[str, Any], max_batch: int = 64, xla: str = "off", tf: Any = None):
        tf = tf or tensorflow()
        if xla not in XLA_MODES:
            raise ValueError(f"xla must be one of {XLA_MODES}, got {xla!r}")
        self.model, self.meta = model, meta
        self.window: int = meta["window"]
        self.scaling: str = meta["scaling"]
        self.model_id: str = meta["id"]
        self.max_batch = max_batch
        self.buckets = buckets_for(max_batch)
        self.xla = xla
        spec = tf.TensorSpec([None, self.window, 1], tf.float32)
        # The concrete function, called with a tensor: a tf.function's own dispatch (binding arguments,
        # looking up its traces) costs ~120 us a call here, a quarter of a batch-1 call (docs/performance.md).
        calls = {jit: tf.function(lambda x: model(x, training=False), input_signature=[spec],
                                  jit_compile=jit).get_concrete_function()
                 for jit in ((False, True) if xla == "auto" else (xla == "on",))}
        self._tf = tf
        self._calls = calls
        first = next(iter(calls.values()))
        self._call_for = {b: first for b in self.buckets}  # bucket -> compiled call; warm_up may choose
        self.choice = {b: ("xla" if xla == "on" else "graph") for b in self.buckets}

    @classmethod
    def load(cls, path: str | Path, max_batch: int = 64, xla: str = "off",
             intra_op_threads: int = 0, inter_op_threads: int = 0, warm: bool = True) -> Runner:
        """Load and check a model file; raise ModelFileError when it cannot be served."""
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
        runner = cls(model, meta, max_batch, xla, tf)
        if warm:
            runner.warm_up()
        return runner

    def warm_up(self) -> None:
        """Trace and run every bucket before the first window arrives. With xla="auto", time each bucket
        both ways (XLA wins at small batches on this machine, plain graphs at large ones: see
        docs/performance.md) and keep the faster call for it."""
        for b in self.buckets:
            x = np.zeros((b, self.window, 1), np.float32)
            best = None
            for jit, call in self._calls.items():
                xt = self._tf.constant(x)
                call(xt)  # compile (XLA: once per shape)
                if len(self._calls) == 1:
                    break
                times = []
                for _ in range(7):
                    t = time.perf_counter()
                    call(xt).numpy()
                    times.append(time.perf_counter() - t)
                dt = float(np.median(times))
                if best is None or dt < best[0]:
                    best = (dt, jit)
            if best is not None:
                self._call_for[b] = self._calls[best[1]]
                self.choice[b] = "xla" if best[1] else "graph"
        if self.xla == "auto":
            log.info("compiled calls by batch size: %s", ", ".join(f"{b}:{c}" for b, c in self.choice.items()))

    def run_scaled(self, z: np.ndarray) -> np.ndarray:
        """Model outputs for scaled windows z (n, W) float32, padding each chunk up to a bucket."""
        n = z.shape[0]
        out = np.empty((n, self.window), np.float32)
        for start in range(0, n, self.max_batch):
            chunk = z[start:start + self.max_batch]
            m = chunk.shape[0]
            b = next(s for s in self.buckets if s >= m)
            if b != m:
                chunk = np.concatenate([chunk, np.zeros((b - m, self.window), np.float32)])
            y = self._call_for[b](self._tf.constant(chunk[:, :, None])).numpy()
            out[start:start + m] = y[:m, :, 0]
        return out

    def denoise(self, x: np.ndarray) -> np.ndarray:
        """Denoised windows, in the input's units, for x (n, W) float64."""
        z, state = scaling.forward(x, self.scaling)
        return scaling.inverse(self.run_scaled(z), state)
