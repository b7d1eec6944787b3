"""Noise models, composable: the noise added to a window is the sum of the listed kinds, each of equal
power, scaled together to an SNR drawn uniformly in [snr_db_min, snr_db_max] per window.

SNR is the window's signal variance (its AC power; an offset is not signal) over the noise variance.
Hum and wander need the sampling rate (`rate` in [train]) to place 50/60 Hz and < 0.5 Hz.
`seed` is the tutorial's absolute noise, noise_factor * N(0, 1), and is not scaled to an SNR.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hush.config import TrainConfig

Kind = Callable[[np.random.Generator, int, int, float], np.ndarray]


def _unit(x: np.ndarray) -> np.ndarray:
    """Each window scaled to unit variance (a window of zeros stays zeros)."""
    return x / np.maximum(x.std(axis=1, keepdims=True), 1e-12)


def white(rng: np.random.Generator, n: int, w: int, rate: float) -> np.ndarray:
    return rng.standard_normal((n, w))


def _coloured(rng: np.random.Generator, n: int, w: int, exponent: float) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal((n, w)), axis=1)
    f = np.arange(spec.shape[1], dtype=float)
    f[0] = 1.0
    return _unit(np.fft.irfft(spec / f ** (exponent / 2), n=w, axis=1))


def pink(rng: np.random.Generator, n: int, w: int, rate: float) -> np.ndarray:
    """Power falling as 1/f."""
    return _coloured(rng, n, w, 1.0)


def brown(rng: np.random.Generator, n: int, w: int, rate: float) -> np.ndarray:
    """Power falling as 1/f^2 (a random walk)."""
    return _coloured(rng, n, w, 2.0)


def spikes(rng: np.random.Generator, n: int, w: int, rate: float) -> np.ndarray:
    """Impulses on ~2 % of samples, of random sign and size; unit variance on average."""
    p = 0.02
    return (rng.random((n, w)) < p) * rng.standard_normal((n, w)) * 3.0 / np.sqrt(p * 9.0)


def wander(rng: np.random.Generator, n: int, w: int, rate: float) -> np.ndarray:
    """Baseline wander: a slow sine of 0.05-0.5 Hz and a random slope."""
    t = np.arange(w) / rate
    f, ph = rng.uniform(0.05, 0.5, (n, 1)), rng.uniform(0, 2 * np.pi, (n, 1))
    x = np.sin(2 * np.pi * f * t + ph) + rng.uniform(-1, 1, (n, 1)) * t * rate / w
    return _unit(x - x.mean(axis=1, keepdims=True))


def hum(rng: np.random.Generator, n: int, w: int, rate: float) -> np.ndarray:
    """Mains hum at 50 or 60 Hz with a weaker third harmonic (aliased if the rate is low)."""
    t = np.arange(w) / rate
    f = np.where(rng.random((n, 1)) < 0.5, 50.0, 60.0)
    ph = rng.uniform(0, 2 * np.pi, (n, 1))
    return _unit(np.sin(2 * np.pi * f * t + ph) + 0.3 * np.sin(2 * np.pi * 3 * f * t + 3 * ph))


KINDS: dict[str, Kind] = {"white": white, "pink": pink, "brown": brown, "spikes": spikes, "wander": wander,
                          "hum": hum}


def add_noise(clean: np.ndarray, cfg: TrainConfig, rng: np.random.Generator,
              snr_db: float | None = None) -> np.ndarray:
    """Noisy copies of clean windows (n, W); `snr_db` fixes the SNR instead of drawing it."""
    if cfg.noise == ["seed"]:
        return clean + cfg.noise_factor * rng.standard_normal(clean.shape)
    n, w = clean.shape
    noise = sum(_unit(KINDS[k](rng, n, w, cfg.rate)) for k in cfg.noise)
    noise = _unit(np.asarray(noise))
    snr = np.full((n, 1), snr_db) if snr_db is not None else rng.uniform(cfg.snr_db_min, cfg.snr_db_max, (n, 1))
    power = np.maximum(clean.var(axis=1, keepdims=True), 1e-12)
    return clean + np.sqrt(power / 10 ** (snr / 10)) * noise
