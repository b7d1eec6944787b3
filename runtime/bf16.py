"""The model with its inner convolutions in bfloat16: one of the runner's engines (runner.py).

These cores have AMX tile units, which oneDNN (inside TensorFlow) uses for bfloat16 convolutions: several
times the float32 arithmetic per cycle. Only the convolutions between the first and the last change: the
first reads the input, the last writes the noise estimate that is subtracted from it, and everything around
them (the medians, the subtraction, the scaling outside the graph) stays float32. A bfloat16 value keeps 8
bits of mantissa, and its error is relative to the largest activations near it. With both ends in float32,
white noise from 0 to 40 dB input costs at most 0.01 dB of output SNR on held-out signals (every layer in
bfloat16: 0.37 dB at 40 dB); impulsive noise at 0 dB, where spikes many times the signal pass through the
inner layers and the float32 output is ~30 dB clean, costs 0.3-0.5 dB (docs/quality.md).

`check` is the rule the runner applies before `auto` serves a reduced-precision engine (this one, or int8:
lite.py): windows with known clean parts, white and impulsive noise at input SNRs of 0 to 40 dB, scaled as
served, denoised by both; the output SNR may differ by at most TOLERANCE_DB in every case, two thirds of
QUALITY_BAR_DB, the cost `hush eval` may show.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from hush import scaling

QUALITY_BAR_DB = 0.3  # what a reduced-precision engine may cost: every `hush eval` margin within 0.3 dB
TOLERANCE_DB = round(QUALITY_BAR_DB * 2 / 3, 2)  # 0.2 dB: output SNR against float32, at every noise and input
# SNR of the check. Below the bar: the check's windows are few and not the eval's (the shipped default: -0.29 dB
# in bfloat16 on the check's impulses at 0 dB, -0.39 on `hush eval`'s held-out spikes at 0 dB)
CHECK_SNRS_DB = (0.0, 10.0, 20.0, 30.0, 40.0)
CONVS = ("Conv1D", "Conv1DTranspose")
LABELS = {"bf16": "bfloat16", "int8": "int8 (dynamic range)"}


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


def check_windows(window: int, kind: str, n: int = 64, seed: int = 0) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, clean, noisy) for each noise and input SNR of the check, both scaled by the noisy window's
    scaling as served. Clean: one tone, three tones, a step on a ramp (n windows each) at random levels and
    offsets: shapes a denoiser cleans well, so its output is clean enough for bfloat16's own error to show.
    Noise: white, and impulses (0.3-5 % of samples, heavy-tailed), where the activations span the widest
    range. Not the held-out sets: a check of the arithmetic, not of the model."""
    rng = np.random.default_rng(seed)
    t = np.arange(window)[None, :] / window

    def tone(hz_max: float) -> np.ndarray:
        return np.sin(2 * np.pi * (rng.uniform(0.5, hz_max, (n, 1)) * t + rng.uniform(0, 1, (n, 1))))

    step = rng.normal(0, 1, (n, 1)) * (t > rng.uniform(0.1, 0.9, (n, 1))) + rng.normal(0, 1, (n, 1)) * t
    clean = np.concatenate([tone(10), sum(rng.uniform(0, 1, (n, 1)) * tone(20) for _ in range(3)), step])
    clean = clean * 10 ** rng.uniform(-3, 3, (3 * n, 1)) + rng.normal(0, 100, (3 * n, 1))
    at = rng.random(clean.shape) < np.exp(rng.uniform(np.log(0.003), np.log(0.05), (3 * n, 1)))
    noises = {"white": rng.normal(0, 1, clean.shape),
              "impulses": at * rng.standard_normal(clean.shape) / np.sqrt(rng.uniform(0.05, 1.0, clean.shape))}
    out = []
    for name, noise in noises.items():
        noise = noise / np.maximum(noise.std(axis=1, keepdims=True), 1e-12)
        for snr in CHECK_SNRS_DB:
            noisy = clean + noise * np.sqrt(clean.var(axis=1, keepdims=True) / 10 ** (snr / 10))
            z, (centre, scale) = scaling.forward(noisy, kind)
            out.append((f"{name} {snr:g} dB", ((clean - centre) / scale).astype(np.float32), z))
    return out


def snr_db(clean: np.ndarray, estimate: np.ndarray) -> float:
    """Mean over windows of the output SNR in dB."""
    err = np.maximum(((estimate - clean) ** 2).mean(axis=1), 1e-20)
    return float(np.mean(10 * np.log10(clean.var(axis=1) / err)))


def check(reference: Any, candidate: Any, window: int, kind: str, engine: str = "bfloat16") -> tuple[bool, str]:
    """Whether `candidate` (a call on (b, W) float32) answers as well as `reference` on check_windows, and a
    line saying by how much, for the log."""
    worst, parts = 0.0, []
    for label, clean, z in check_windows(window, kind):
        a, b = snr_db(clean, reference(z)), snr_db(clean, candidate(z))
        worst = max(worst, abs(b - a))
        parts.append(f"{label}: {b - a:+.2f}")
    ok = worst <= TOLERANCE_DB
    return ok, (f"{engine} against float32, output SNR on {len(parts)} x 192 check windows ({', '.join(parts)}); "
                f"tolerance {TOLERANCE_DB} dB: {'within' if ok else 'OUTSIDE'}")
