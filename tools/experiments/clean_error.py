"""Where a model's own error sits on nearly clean windows: held-out windows (trainer/heldout.py), scaled to
unit variance, with white noise at 60 dB, through the serving path (Runner, graph). For each model it prints
the error's power, its share by frequency band (cycles per window), whether it peaks at the unet's pooling
periods (2, 6, 30 samples: an artefact of upsampling would), its power at the window's edges against the
middle, and its power per family.

    python tools/experiments/clean_error.py models/default.keras other.keras [--per-family 250]
"""

from __future__ import annotations

import argparse

import numpy as np

from hush.runtime.runner import Runner
from hush.trainer.heldout import HELDOUT

BANDS = {"0-5": (0, 5), "5-15": (5, 15), "15-25": (15, 25), "25-50": (25, 50), "50-75": (50, 76)}


def windows(per_family: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Unit-variance held-out windows (a flat one is left at zero and out of the scores) and the same at
    60 dB of white noise."""
    rng = np.random.default_rng(seed)
    clean = np.concatenate([f(rng, per_family, 150, 16.0) for f in HELDOUT.values()])
    sd = clean.std(axis=1, keepdims=True)
    clean = np.where(sd > 0, (clean - clean.mean(axis=1, keepdims=True)) / np.maximum(sd, 1e-12), 0.0)
    return clean, clean + rng.standard_normal(clean.shape) * 1e-3


def report(path: str, clean: np.ndarray, noisy: np.ndarray, per_family: int) -> list[str]:
    err = Runner.load(path, max_batch=64, engine="graph").denoise(noisy) - clean
    err[clean.std(axis=1) == 0] = 0.0
    spec = (np.abs(np.fft.rfft(err, axis=1)) ** 2).mean(axis=0)
    pos = (err**2).mean(axis=0)
    peaks = [spec[k] / np.median(spec[k - 3:k + 3]) for k in (5, 10, 25, 50, 75)]
    fams = {name: 10 * np.log10((err[i * per_family:(i + 1) * per_family] ** 2).mean())
            for i, name in enumerate(HELDOUT)}
    return [f"{path}: error {10 * np.log10((err**2).mean()):.1f} dB of the signal",
            "  share by band (cycles/window): " + ", ".join(f"{k} {spec[a:b].sum() / spec.sum():.2f}"
                                                            for k, (a, b) in BANDS.items()),
            "  at bins 5, 10, 25, 50, 75 against their neighbours: " + ", ".join(f"{p:.2f}" for p in peaks),
            f"  first / last 10 samples against the mean: {pos[:10].mean() / pos.mean():.2f} / "
            f"{pos[-10:].mean() / pos.mean():.2f}",
            "  per family, dB: " + ", ".join(f"{k} {v:.1f}" for k, v in fams.items())]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--per-family", type=int, default=250)
    args = ap.parse_args()
    clean, noisy = windows(args.per_family)
    for path in args.models:
        print("\n".join(report(path, clean, noisy, args.per_family)))


if __name__ == "__main__":
    main()
