"""Keep glibc's malloc from handing a training step's buffers back to the kernel after every step.

TensorFlow sets `M_TRIM_THRESHOLD` to 128 kB when a generator dataset starts (the Keras PyDatasets that draw
fresh noise for `--clean`, `--noise-file` and `--init`, or recorrupted pairs for `--noisy`, are one). Setting
it also freezes glibc's mmap threshold at its 128-kB start, so every activation buffer of a step (1.2 MB for a
batch of 64 windows at 32 channels) is mapped, faulted in page by page and unmapped again, step after step:
three epochs on 7,680 ECG windows spent 37 of their 61 s in the kernel (2 s with this), and the epochs of
`hush train --clean data/ecg_mitbih208.npy` took 71-83 s alone (20-45 s with this). `HeapKept` sets both
thresholds back up at each epoch's first step (after TensorFlow has set its own): buffers under 32 MB come
from the heap, which keeps up to 256 MB unused. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
TRIM_BYTES, MMAP_BYTES = 256 << 20, 32 << 20


def keep_heap() -> bool:
    """Raise glibc's trim and mmap thresholds; False where there is no glibc mallopt."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        return False
    if mallopt is None:
        return False
    return bool(mallopt(M_TRIM_THRESHOLD, TRIM_BYTES)) and bool(mallopt(M_MMAP_THRESHOLD, MMAP_BYTES))


def heap_kept(keras: Any) -> Any:
    """A Keras callback calling `keep_heap` at each epoch's first training step."""

    class HeapKept(keras.callbacks.Callback):  # type: ignore[misc]
        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            if batch == 0:
                keep_heap()

    return HeapKept()
