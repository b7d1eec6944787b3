"""Which held-out windows a model harms when they carry no noise, and what that does to brown noise and wander.

The clean windows are the held-out set exactly as `hush eval MODEL` draws it (the model's seed + 10007, 2,000
windows, amplitudes 0.001-1000, offsets +-1000). For each window with the model's own error less than 20 dB
under its signal when it is served clean, it prints the family and the window's largest step away from its
5-sample running median (in units of its standard deviation: a one-sample spike of the signal itself stands
far out). Then brown noise and wander at 10 and 30 dB (its own noise draw, not hush eval's), the model's gain
over all windows and without those.

    python tools/experiments/own_spikes.py models/default.keras
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.ndimage import median_filter

from hush import modelfile
from hush.runtime.runner import Runner
from hush.trainer import data
from hush.trainer.evaluate import compare
from hush.trainer.noise import add_noise
from hush.trainer.scorecard import _train_config, synthetic_sets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--below-db", type=float, default=20.0)
    args = ap.parse_args()
    cfg = _train_config(modelfile.read_meta(args.model))
    runner = Runner.load(args.model, max_batch=256, engine="graph")
    set_cfg, table = synthetic_sets(cfg, "held-out")["held-out"]
    clean, label = data.labelled_clean(set_cfg, 2000, np.random.default_rng(cfg.seed + 10_007), table)
    centred = clean - clean.mean(axis=1, keepdims=True)
    signal = (centred**2).sum(axis=1)
    varies = signal > 1e-20 * (clean**2).sum(axis=1)  # as hush eval scores: a flat window has no SNR
    own_error = ((runner.denoise(clean) - clean) ** 2).sum(axis=1)
    own = 10 * np.log10(np.maximum(signal, 1e-300) / np.maximum(own_error, 1e-30 * signal))
    harmed = varies & (own < args.below_db)
    z = centred / np.maximum(clean.std(axis=1, keepdims=True), 1e-300)
    step = np.abs(z - median_filter(z, size=(1, 5), mode="nearest")).max(axis=1)
    print(f"{harmed.sum()} of {varies.sum()} windows come out of the model less than {args.below_db:g} dB "
          f"from their clean selves (own error, dB under the signal; largest step from the running median):")
    for i in np.flatnonzero(harmed):
        print(f"  window {i:4d}  {set_cfg.families[label[i]]:12s} {own[i]:6.1f} dB   {step[i]:5.2f} std")
    every = np.ones(len(clean), bool)
    for kind in ("brown", "wander"):
        for snr in (10.0, 30.0):
            noisy = add_noise(clean, cfg, np.random.default_rng(1), snr, [kind])
            out = runner.denoise(noisy)
            gains = [compare(clean[m], noisy[m], out[m])["snr_gain_db"] for m in (every, ~harmed)]
            print(f"{kind} at {snr:g} dB: gain {gains[0]:+.4f} dB over all windows, {gains[1]:+.4f} "
                  f"without those {harmed.sum()}")


if __name__ == "__main__":
    main()
