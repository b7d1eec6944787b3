"""A probe for issue 12: does the default recipe generalise better to unseen shapes, and harm slow noise less
at high SNR, when its clean windows are richer? Trains the recipe of a config file's [train] section (as
`hush train --config` would: a reduced budget, say) with a share of the synthetic clean windows changed, as
signal the target keeps:

- `drift`: a slow drift added (a random walk low-passed to 0.5-2 cycles per window plus a slope, 0 to -30 dB
  of the window's own variation): the network sees its shapes riding on a moving baseline, as brown noise
  and wander put them in `hush eval`.
- `compose`: the window plus another training window at 0 to -20 dB of it: shapes the families do not make
  alone.
- `process`: the window replaced by a band-limited random process at its level and offset (a random spectral
  slope between random band edges, 0.5 to 72 cycles per window; half of them under a Gaussian envelope, as
  intermittent activity): shapes of no family, which the target keeps, so the network learns to leave what it
  does not recognise and remove only the noise floor.

    python tools/experiments/clean_variants.py drift|compose|process OUT.keras [--share 0.3] [--config R.toml]

Then score it beside a model of the same budget: `hush eval OUT.keras --families held-out --noise white pink
brown wander spikes --windows 1000`.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from hush import config
from hush.trainer import data
from hush.trainer.train import train


def _ac(x: np.ndarray) -> np.ndarray:
    return np.maximum((x - x.mean(axis=1, keepdims=True)).std(axis=1, keepdims=True), 1e-12)


def drift(x: np.ndarray, on: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k, w = int(on.sum()), x.shape[1]
    spec = np.fft.rfft(np.cumsum(rng.standard_normal((k, w)), axis=1), axis=1)
    spec *= np.arange(spec.shape[1]) <= rng.uniform(0.5, 2.0, (k, 1))
    d = np.fft.irfft(spec, n=w, axis=1) + rng.uniform(-1, 1, (k, 1)) * np.linspace(-1, 1, w)
    x[on] += (d - d.mean(axis=1, keepdims=True)) / _ac(d) * _ac(x[on]) * 10 ** (rng.uniform(-30, 0, (k, 1)) / 20)
    return x


def compose(x: np.ndarray, on: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k = int(on.sum())
    b = x[rng.permutation(len(x))[:k]]
    x[on] += (b - b.mean(axis=1, keepdims=True)) / _ac(b) * _ac(x[on]) * 10 ** (rng.uniform(-20, 0, (k, 1)) / 20)
    return x


def process(x: np.ndarray, on: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k, w = int(on.sum()), x.shape[1]
    f = np.arange(w // 2 + 1)[None, :].astype(float)
    lo = np.exp(rng.uniform(np.log(0.5), np.log(8.0), (k, 1)))
    hi = np.exp(rng.uniform(np.log(2 * lo), np.log(0.48 * w), (k, 1)))
    mag = np.where((f >= lo) & (f <= hi), np.maximum(f, 0.5) ** (-rng.uniform(0, 1, (k, 1))), 0.0)
    p = np.fft.irfft(mag * (rng.standard_normal(mag.shape) + 1j * rng.standard_normal(mag.shape)), n=w, axis=1)
    u = np.arange(w) / w
    env = np.exp(-0.5 * ((u - rng.uniform(0, 1, (k, 1))) / np.exp(rng.uniform(np.log(0.05), np.log(0.5), (k, 1)))) ** 2)
    p *= np.where(rng.random((k, 1)) < 0.5, env, 1.0)
    p -= p.mean(axis=1, keepdims=True)
    x[on] = x[on].mean(axis=1, keepdims=True) + p / _ac(p) * _ac(x[on])
    return x


def patched(change: Callable[..., np.ndarray], share: float) -> Callable[..., np.ndarray]:
    original = data.synthetic_clean

    def synthetic_clean(cfg: Any, n: int, rng: np.random.Generator, families: Any = None) -> np.ndarray:
        x = original(cfg, n, rng, families)
        return x if families is not None else change(x, rng.random(n) < share, rng)

    return synthetic_clean


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("variant", choices=("drift", "compose", "process"))
    p.add_argument("out")
    p.add_argument("--share", type=float, default=0.3, help="share of the clean windows changed")
    p.add_argument("--config", help="config file (default: $HUSH_CONFIG or ./config.toml)")
    args = p.parse_args()
    data.synthetic_clean = patched({"drift": drift, "compose": compose, "process": process}[args.variant], args.share)  # type: ignore[assignment]
    train(dataclasses.replace(config.load(args.config).train, out=args.out))


if __name__ == "__main__":
    main()
