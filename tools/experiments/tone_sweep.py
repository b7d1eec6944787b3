"""What a model does to a pure tone: sines at one frequency each (random phase, amplitudes 0.1-10), white noise
at one SNR per window, the model's gain over all windows of each frequency. Hum is taught at 50 and 60 Hz
(at the model's `rate`), so a tone there is ambiguous within one window: this shows how wide each model's
notch is and at which input SNRs it takes the tone for hum.

    python tools/experiments/tone_sweep.py models/default.keras [other.keras ...] [--snr 30 10]
"""

from __future__ import annotations

import argparse

import numpy as np

from hush.runtime.runner import Runner

FREQS = (20, 30, 40, 45, 48, 50, 52, 55, 58, 60, 62, 65, 70, 80, 100, 120, 150, 170)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--snr", nargs="+", type=float, default=[30.0, 10.0], help="input SNR per window, dB")
    p.add_argument("--windows", type=int, default=200, help="windows per frequency")
    p.add_argument("--rate", type=float, default=360.0, help="sampling rate, Hz")
    p.add_argument("--seed", type=int, default=5)
    args = p.parse_args()
    runners = [Runner.load(m, max_batch=256, engine="graph") for m in args.models]
    rng = np.random.default_rng(args.seed)
    t = np.arange(runners[0].window) / args.rate
    for snr in args.snr:
        print(f"white noise at {snr:g} dB per window: the model's gain over all windows of a tone, dB, per model")
        for f in FREQS:
            phase = rng.uniform(0, 2 * np.pi, (args.windows, 1))
            clean = 10 ** rng.uniform(-1, 1, (args.windows, 1)) * np.sin(2 * np.pi * f * t + phase)
            sigma = np.sqrt((clean ** 2).mean(axis=1, keepdims=True) / 10 ** (snr / 10))
            noisy = clean + rng.standard_normal(clean.shape) * sigma
            error_in = ((noisy - clean) ** 2).sum()
            gains = [10 * np.log10(error_in / ((r.denoise(noisy) - clean) ** 2).sum()) for r in runners]
            cycles = f * len(t) / args.rate
            print(f"  {f:5g} Hz ({cycles:5.1f} cycles per window) " + " ".join(f"{g:+7.2f}" for g in gains))


if __name__ == "__main__":
    main()
