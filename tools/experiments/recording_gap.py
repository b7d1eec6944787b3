"""Where one model loses to another on a recording's held-out end: its windows (cut every half window, as `hush
eval --clean` cuts them) with white noise at one SNR per window, each model's error per window, and the
difference in dB (positive: the first model's error is larger), by tenth of the end and by the windows'
peak-to-peak swing; beside it, how many windows of each swing a training part (the recording's start) holds.

    python tools/experiments/recording_gap.py ten.keras ecg.keras --clean data/ecg_mitbih208.npy \\
        [--tail 0.15] [--start 0.1] [--snr 10]
"""

from __future__ import annotations

import argparse

import numpy as np

from hush.config import TrainConfig
from hush.runtime.runner import Runner
from hush.samples import cut_windows, load_samples
from hush.trainer.noise import add_noise

SWINGS = (0.0, 1.0, 1.6, 2.2, np.inf)  # peak-to-peak bins, in the recording's units (mV for the ECG)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("first")
    p.add_argument("second")
    p.add_argument("--clean", required=True, help="the clean recording (.npy)")
    p.add_argument("--tail", type=float, default=0.15, help="the end scored")
    p.add_argument("--start", type=float, default=0.1, help="the start the first model trained on")
    p.add_argument("--snr", type=float, default=10.0, help="each window's input SNR, dB")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    x = load_samples(args.clean)
    end = x[int(round(x.size * (1 - args.tail))):]
    cfg = TrainConfig(noise=["white"])
    clean = cut_windows(end, cfg.window, cfg.window // 2)
    noisy = add_noise(clean, cfg, np.random.default_rng(args.seed), args.snr)  # as hush eval adds it
    err = [((Runner.load(m, max_batch=256, engine="graph").denoise(noisy) - clean) ** 2).mean(axis=1)
           for m in (args.first, args.second)]
    gap = 10 * np.log10(err[0] / err[1])
    worst = np.sort(gap)[::-1][: len(gap) // 5]
    print(f"{len(gap)} windows; the first model's error is {gap.mean():+.2f} dB of the second's on average; "
          f"the worst fifth of the windows holds {worst.sum() / gap.sum():.0%} of that")
    print("by tenth of the end:", " ".join(f"{b.mean():+.2f}" for b in np.array_split(gap, 10)))
    head = cut_windows(x[: int(x.size * args.start)], cfg.window, cfg.window // 2)
    swing, head_swing = np.ptp(clean, axis=1), np.ptp(head, axis=1)
    print(f"{'swing':>12}{'end windows':>13}{'gap, dB':>9}{'start windows':>15}")
    for lo, hi in zip(SWINGS[:-1], SWINGS[1:], strict=True):
        m = (swing >= lo) & (swing < hi)
        n_head = int(((head_swing >= lo) & (head_swing < hi)).sum())
        cell = f"{gap[m].mean():>+9.2f}" if m.any() else f"{'-':>9}"
        print(f"{f'{lo}-{hi}':>12}{int(m.sum()):>13}{cell}{n_head:>15}")


if __name__ == "__main__":
    main()
