"""The model as TensorFlow Lite with XNNPACK: two of the runner's engines (runner.py), float32 ("lite") and
int8 (dynamic-range quantised: `convert`).

For this small network, TensorFlow's own call spends most of a batch-1 call in its runtime (binding,
dispatch, executor), and that code runs cold when calls are 5 ms apart: 0.36 ms hot, 0.86 ms at 200
calls/s here. An XNNPACK interpreter is a short path to the kernels: 0.19 ms hot, 0.24 ms at 200 calls/s,
and as fast as TensorFlow at batch 64 (docs/performance.md). The Keras model is converted once per
process, model id and precision, at load (about half a second); the model file stays the one `.keras` archive.

An interpreter is not thread-safe. `Lite` keeps sets of interpreters (one per batch bucket, resized and
allocated once); a call takes a free set, or makes one if every set is busy, so each model worker ends up
with its own and never waits for another. `invoke()` releases the GIL: two workers use both cores.
"""

from __future__ import annotations

import contextlib
import io
import logging
import queue
import threading
import warnings
from typing import Any

import numpy as np

_converted: dict[tuple[str, bool], bytes] = {}  # (model id, int8) -> flatbuffer
_lock = threading.Lock()


def convert(model: Any, model_id: str, tf: Any, int8: bool = False) -> bytes:
    """The Keras model as a TensorFlow Lite flatbuffer: float32 (no quantisation: same answers to ~1e-6), or
    with `int8` dynamic-range quantised: the weights in int8 (per output channel), and XNNPACK quantises each
    convolution's input to int8 at run time from the range of that window's own values, so a nearly clean
    window gets steps fitted to it (no calibration data; an answer does not depend on the rest of the batch)."""
    key = (model_id, int8)
    with _lock:
        if key not in _converted:
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
            if int8:
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            # It exports a SavedModel to a temporary directory and says so on stdout and in the log (both
            # process-wide for the half second this takes; Hush's own log goes to stderr).
            tf_log = logging.getLogger("tensorflow")
            level = tf_log.level
            tf_log.setLevel(logging.WARNING)
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    _converted[key] = converter.convert()
            finally:
                tf_log.setLevel(level)
            while len(_converted) > 8:  # a daemon reloaded for months keeps the last few models only
                del _converted[next(iter(_converted))]
        return _converted[key]


class Lite:
    """Run (b, W) float32 windows, b one of `buckets`, through the TensorFlow Lite model."""

    def __init__(self, flatbuffer: bytes, window: int, buckets: list[int], threads: int, tf: Any):
        self.flatbuffer, self.window, self.buckets, self.threads, self._tf = flatbuffer, window, buckets, threads, tf
        self._free: queue.SimpleQueue[dict[int, tuple[Any, int, int]]] = queue.SimpleQueue()
        self.sets = 0

    def prepare(self, n: int) -> None:
        """Make `n` interpreter sets now (one per model worker), so no window waits for one to be built."""
        for _ in range(n - self.sets):
            self._free.put(self._new_set())

    def _new_set(self) -> dict[int, tuple[Any, int, int]]:
        out = {}
        with warnings.catch_warnings():
            # tf.lite.Interpreter warns that it moves to the ai-edge-litert package; it is in TF 2.21, pinned.
            warnings.filterwarnings("ignore", message=r"(?s).*tf\.lite\.Interpreter is deprecated")
            for b in self.buckets:
                it = self._tf.lite.Interpreter(model_content=self.flatbuffer, num_threads=self.threads)
                inp = it.get_input_details()[0]["index"]
                it.resize_tensor_input(inp, [b, self.window, 1])
                it.allocate_tensors()
                out[b] = (it, inp, it.get_output_details()[0]["index"])
        self.sets += 1
        return out

    def __call__(self, z: np.ndarray) -> np.ndarray:
        try:
            s = self._free.get_nowait()
        except queue.Empty:  # every set is in use by another thread
            s = self._new_set()
        try:
            it, inp, out = s[len(z)]
            it.set_tensor(inp, z[:, :, None])
            it.invoke()
            return it.get_tensor(out)[:, :, 0]  # a copy: the interpreter's buffer is reused by the next call
        finally:
            self._free.put(s)
