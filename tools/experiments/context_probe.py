"""A probe for issue 12: what a stream's previous samples would add, as context, to the window being denoised.

A model trained on windows twice as long (`hush train --clean REC --noise white` with `window = 300` in its
config) reads, for its last 150 outputs, the 150 samples before them: the previous window of a stream. This
scores those outputs against a 150-sample model on the same samples with the same noise, on a recording's
held-out tail (windows every 75 samples, white noise per window at the SNR, set by the scored 150 samples'
power), and also the longer model's middle 150 (75 samples each side: context both ways, at half a window's
latency).

    python tools/experiments/context_probe.py W150.keras W300.keras [--clean REC] [--snr 10] [--tail 0.15]

Not a feature: it measures whether carrying context from window to window in the daemon is worth its cost
(the longer model does twice the arithmetic per window).
"""

from __future__ import annotations

import argparse

import numpy as np

from hush.runtime.runner import Runner
from hush.samples import load_samples
from hush.trainer import evaluate


def gain(denoised: np.ndarray, clean: np.ndarray, noisy: np.ndarray) -> float:
    """The SNR gain in dB, mean over windows, as hush eval scores it."""
    return evaluate.compare(clean, noisy, denoised)["snr_gain_db"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("short", help="a model of 150-sample windows")
    ap.add_argument("long", help="the same recipe with 300-sample windows")
    ap.add_argument("--clean", default="data/ecg_mitbih208.npy")
    ap.add_argument("--snr", type=float, default=10.0)
    ap.add_argument("--tail", type=float, default=0.15, help="the recording's scored end (what training held out)")
    args = ap.parse_args()
    x = load_samples(args.clean, "")
    w = 150
    starts = np.arange(int(round(x.size * (1 - args.tail))), x.size - w + 1, w // 2)
    clean = np.stack([x[s - w:s + w] for s in starts])  # the previous window, then the scored one
    power = clean[:, w:].var(axis=1, keepdims=True) / 10 ** (args.snr / 10)
    noisy = clean + np.sqrt(power) * np.random.default_rng(5).standard_normal(clean.shape)
    short = Runner.load(args.short, max_batch=256, engine="graph")
    long = Runner.load(args.long, max_batch=256, engine="graph")
    alone, both = short.denoise(noisy[:, w:]), long.denoise(noisy)
    mid = slice(w // 2, w + w // 2)
    print(f"{len(starts)} windows of {args.clean}'s last {args.tail:.0%}, white noise at {args.snr:g} dB; "
          "SNR gain in dB, mean over windows")
    print(f"  150-sample model, its window alone          {gain(alone, clean[:, w:], noisy[:, w:]):+.3f}")
    print(f"  300-sample model, the previous 150 as context {gain(both[:, w:], clean[:, w:], noisy[:, w:]):+.3f}")
    print(f"  300-sample model, 75 samples each side        {gain(both[:, mid], clean[:, mid], noisy[:, mid]):+.3f}"
          f"  (150-sample model on those samples: "
          f"{gain(short.denoise(noisy[:, mid]), clean[:, mid], noisy[:, mid]):+.3f})")
    err = np.mean((alone - clean[:, w:]) ** 2, 0)
    print("  error by tenth of the window, relative to the 150-sample model's mean:")
    print("    alone        ", np.round([q.mean() / err.mean() for q in np.array_split(err, 10)], 2))
    err_ctx = np.mean((both[:, w:] - clean[:, w:]) ** 2, 0)
    print("    with context ", np.round([q.mean() / err.mean() for q in np.array_split(err_ctx, 10)], 2))


if __name__ == "__main__":
    main()
