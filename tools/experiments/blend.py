"""A probe for issue 12: do training windows that are sums of two families carry over to unseen shapes?

A sensor's signal is often several things at once (a trend and an oscillation, a baseline and events), where
each synthetic family (trainer/data.py) is one. Here a share `--share` of the training (and validation) windows
is a window of one family plus one of another family's, at a level log-uniform between `--low` and 1 times its
own amplitude; the rest are as the recipe makes them. Nothing in it looks at the held-out families. Trains the
recipe of a config file's [train] section, as `hush train --config` would:

    python tools/experiments/blend.py OUT.keras --config R.toml [--share 0.5] [--low 0.1]

Then score it beside the network trained without: `hush eval OUT.keras --families held-out --windows 1000
--noise white pink brown wander spikes mix hum --seed 10007`.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import numpy as np

from hush import config
from hush.trainer import data
from hush.trainer import train as trainer


def blended(share: float, low: float) -> Any:
    def synthetic_clean(cfg: Any, n: int, rng: np.random.Generator, families: Any = None) -> np.ndarray:
        x, label = data.labelled_clean(cfg, n, rng, families)
        k = int(round(share * n))
        if k == 0:
            return x
        other, other_label = data.labelled_clean(cfg, k, rng, families)
        same = other_label == label[:k]  # paired with its own family: take the next window's partner instead
        other[same] = np.roll(other, 1, axis=0)[same]  # (of another family but one time in thirteen)
        other = other - other.mean(axis=1, keepdims=True)
        other_peak = np.maximum(np.abs(other).max(axis=1, keepdims=True), 1e-9)
        own_peak = np.maximum(np.abs(x[:k] - x[:k].mean(axis=1, keepdims=True)).max(
            axis=1, keepdims=True), 1e-9)
        level = np.exp(rng.uniform(np.log(low), 0.0, (k, 1)))
        x[:k] += other / other_peak * own_peak * level
        return x[rng.permutation(n)]

    return synthetic_clean


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--config", help="config file (default: $HUSH_CONFIG or ./config.toml)")
    p.add_argument("--share", type=float, default=0.5, help="part of the windows that are sums of two families")
    p.add_argument("--low", type=float, default=0.1, help="the second family's smallest level, relative")
    args = p.parse_args()
    cfg = dataclasses.replace(config.load(args.config).train, out=args.out)
    data.synthetic_clean = blended(args.share, args.low)  # type: ignore[assignment]
    trainer.train(cfg)


if __name__ == "__main__":
    main()
