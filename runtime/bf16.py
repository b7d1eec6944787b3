"""The model with its inner convolutions in bfloat16: one of the runner's engines (runner.py).

These cores have AMX tile units, which oneDNN (inside TensorFlow) uses for bfloat16 convolutions: several
times the float32 arithmetic per cycle. Only the convolutions between the first and the last change: the
first reads the input, the last writes the noise estimate that is subtracted from it, and everything around
them (the medians, the subtraction, the scaling outside the graph) stays float32. A bfloat16 value keeps 8
bits of mantissa, and int8 (docs/performance.md) showed where that hurts: on nearly clean windows, where
the answer is the input less a small correction. With both ends in float32 the output SNR stays within
0.01 dB of float32's from 0 to 40 dB input on held-out signals; with every layer in bfloat16 it loses
0.37 dB at 40 dB (docs/quality.md).

`check` is the rule the runner applies before it serves bfloat16: windows with known clean parts at input
SNRs of 0 to 40 dB, scaled as served, denoised by both; the output SNR may differ by at most TOLERANCE_DB at
every input level.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from hush import scaling

TOLERANCE_DB = 0.1  # output SNR, bfloat16 against float32, at every input SNR of the check
CHECK_SNRS_DB = (0.0, 10.0, 20.0, 30.0, 40.0)
CONVS = ("Conv1D", "Conv1DTranspose")


def hardware() -> bool:
    """Whether these cores do bfloat16 arithmetic (AMX or AVX-512 BF16); without it oneDNN emulates it,
    slower than float32, and `auto` does not try it."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return bool(re.search(r"\b(amx_bf16|avx512_bf16)\b", flags))


def variant(model: Any) -> Any:
    """A copy of the Keras model (same weights) whose convolutions, except the first and the last, compute
    and keep their weights in bfloat16. ValueError when it has fewer than three convolutions."""
    import keras

    config = model.get_config()
    convs = [layer for layer in config["layers"] if layer["class_name"] in CONVS]
    if len(convs) < 3:
        raise ValueError(f"{len(convs)} convolutions: none between the first and the last to run in bfloat16")
    for layer in convs[1:-1]:
        layer["config"]["dtype"] = "bfloat16"
    copy = keras.Model.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def check_windows(window: int, kind: str, n: int = 128, seed: int = 0) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """(input SNR, clean, noisy) per CHECK_SNRS_DB, both scaled by the noisy window's scaling as served: sums
    of tones, steps and ramps at random levels, with white noise. Not the held-out sets: a sanity check of
    the arithmetic, not of the model."""
    rng = np.random.default_rng(seed)
    t = np.arange(window)[None, :] / window
    tones = sum(rng.uniform(0, 1, (n, 1)) * np.sin(2 * np.pi * (rng.uniform(0.5, 20, (n, 1)) * t
                                                                 + rng.uniform(0, 1, (n, 1)))) for _ in range(3))
    steps = rng.normal(0, 1, (n, 1)) * (t > rng.uniform(0.1, 0.9, (n, 1))) + rng.normal(0, 1, (n, 1)) * t
    clean = (tones + steps) * 10 ** rng.uniform(-3, 3, (n, 1)) + rng.normal(0, 100, (n, 1))
    out = []
    for snr in CHECK_SNRS_DB:
        sigma = np.sqrt(clean.var(axis=1, keepdims=True) / 10 ** (snr / 10))
        noisy = clean + rng.normal(0, 1, clean.shape) * sigma
        z, (centre, scale) = scaling.forward(noisy, kind)
        out.append((snr, ((clean - centre) / scale).astype(np.float32), z))
    return out


def snr_db(clean: np.ndarray, estimate: np.ndarray) -> float:
    """Mean over windows of the output SNR in dB."""
    err = np.maximum(((estimate - clean) ** 2).mean(axis=1), 1e-20)
    return float(np.mean(10 * np.log10(clean.var(axis=1) / err)))


def check(reference: Any, candidate: Any, window: int, kind: str) -> tuple[bool, str]:
    """Whether `candidate` (a call on (b, W) float32) answers as well as `reference` on check_windows, and a
    line saying by how much, for the log."""
    worst, parts = 0.0, []
    for snr, clean, z in check_windows(window, kind):
        a, b = snr_db(clean, reference(z)), snr_db(clean, candidate(z))
        worst = max(worst, abs(b - a))
        parts.append(f"{snr:g} dB in: {b - a:+.3f}")
    ok = worst <= TOLERANCE_DB
    return ok, (f"bfloat16 against float32, output SNR on {len(parts)} x 128 check windows ({', '.join(parts)}); "
                f"tolerance {TOLERANCE_DB} dB: {'within' if ok else 'OUTSIDE'}")
