"""Where, with one noise level for every window, a model gains and loses: the held-out windows of `hush eval
--families held-out --fixed-level` (amplitudes over six decades, white noise at one power set by the total
SNR), binned by each window's own input SNR. Per bin and model: the number of windows, the mean gain in dB,
and the bin's share of the model's total error power (what the SNR over all windows is made of).

    python tools/experiments/snr_bins.py models/default.keras other.keras [--levels 0 10 30] [--windows 2000]
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from hush.config import TrainConfig
from hush.runtime.runner import Runner
from hush.trainer import data
from hush.trainer.heldout import HELDOUT
from hush.trainer.noise import add_noise_at_level
from hush.trainer.scorecard import HELD_OUT_RANGES

EDGES = (-200, -40, -20, -5, 5, 20, 40, 60, 200)


def snr_db(clean: np.ndarray, x: np.ndarray) -> np.ndarray:
    signal = ((clean - clean.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    return np.asarray(10 * np.log10(np.maximum(signal, 1e-300) / np.maximum(((x - clean) ** 2).sum(axis=1), 1e-300)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--levels", nargs="+", type=float, default=[0.0, 10.0, 30.0], help="total SNRs, dB")
    p.add_argument("--windows", type=int, default=2000)
    p.add_argument("--seed", type=int, default=10007)
    args = p.parse_args()
    cfg = TrainConfig()
    rng = np.random.default_rng(args.seed)
    clean, _ = data.labelled_clean(dataclasses.replace(cfg, families=list(HELDOUT), **HELD_OUT_RANGES),
                                   args.windows, rng, HELDOUT)
    runners = [Runner.load(m, max_batch=256, engine="graph") for m in args.models]
    for level in args.levels:
        noisy = add_noise_at_level(clean, ["white"], rng, cfg.rate, level)
        snr_in = snr_db(clean, noisy)
        outs = [r.denoise(noisy) for r in runners]
        errors = [((o - clean) ** 2).sum(axis=1) for o in outs]
        print(f"one noise level, {level:g} dB over all windows: input SNR bin, windows, mean gain per model | "
              "share of each model's total error")
        for lo, hi in zip(EDGES[:-1], EDGES[1:], strict=True):
            m = (snr_in >= lo) & (snr_in < hi)
            if m.any():
                gains = [float(np.mean(np.minimum(snr_db(clean[m], o[m]), 120.0) - snr_in[m])) for o in outs]
                print(f"  [{lo:4d}, {hi:4d}) {int(m.sum()):5d} " + " ".join(f"{g:+7.2f}" for g in gains) + " | "
                      + " ".join(f"{e[m].sum() / e.sum():.2f}" for e in errors))


if __name__ == "__main__":
    main()
