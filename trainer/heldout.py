"""Signal families that no default recipe trains on: `hush eval` scores on them to measure how a model
does on shapes it never saw. Each is another generator than any in trainer/data.py, and several go
beyond the training ranges (fast carriers that start and stop, true discontinuities, a heartbeat).

A test keeps these names out of the default [train] families and out of trainer/data.py's FAMILIES.
"""

from __future__ import annotations

import numpy as np

from hush.trainer.data import Family, _col, _u


def ecg(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """A heartbeat-like wave (P, Q, R, S, T as Gaussians, after McSharry et al. 2003) at 40-180 beats/min,
    the window lasting 0.4-1.5 s (a sampling rate of 100-375 Hz): the QRS is 1-4 samples wide."""
    seconds = _col(rng, 0.4, 1.5, n)
    t = _u(n, w) * seconds
    period = 60 / _col(rng, 40, 180, n)
    t_beat = ((t / period + _col(rng, 0, 1, n)) % 1.0 - 0.5) * period  # seconds from the R peak
    out = np.zeros((n, w))
    for centre, width, height in ((-0.2, 0.025, 0.12), (-0.025, 0.01, -0.15), (0.0, 0.01, 1.0),
                                  (0.025, 0.01, -0.25), (0.25, 0.04, 0.3)):
        at = centre * np.minimum(period, 1.0)  # P and T come closer to the R peak as the heart speeds up
        out += height * _col(rng, 0.7, 1.3, n) * np.exp(-0.5 * ((t_beat - at) / width) ** 2)
    return out


def rc(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """A first-order sensor answering jumps of its input: discontinuous steps, each relaxing exponentially
    (time constant 3-60 samples) toward a new level."""
    idx, out = np.arange(w), np.zeros((n, w))
    for _ in range(3):
        at, tau = rng.integers(0, w, (n, 1)), _col(rng, 3, 60, n)
        jump = _col(rng, -1, 1, n)
        out += (idx >= at) * jump * np.exp(-(idx - at).clip(0) / tau) + (idx >= at) * _col(rng, -0.5, 0.5, n)
    return out


def square_true(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """An ideal square wave (not band-limited): 0.5-6 periods, random duty cycle 0.2-0.8."""
    u = _u(n, w)
    phase = (u * _col(rng, 0.5, 6, n) + _col(rng, 0, 1, n)) % 1.0
    return np.where(phase < _col(rng, 0.2, 0.8, n), 1.0, -1.0)


def saw_true(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """An ideal sawtooth (a ramp and a jump back each period), rising or falling, 0.5-6 periods."""
    u = _u(n, w)
    return np.sign(_col(rng, -1, 1, n)) * ((u * _col(rng, 0.5, 6, n) + _col(rng, 0, 1, n)) % 1.0)


def fm(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """A frequency-modulated sine: 2-10 cycles per window, swinging by up to half of that."""
    u = _u(n, w)
    fc, dev, fmod = _col(rng, 2, 10, n), _col(rng, 0.1, 0.5, n), _col(rng, 0.3, 2, n)
    return np.sin(2 * np.pi * fc * u + dev * fc / fmod * np.sin(2 * np.pi * fmod * u) + _col(rng, 0, 6.3, n))


def bumps(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """2-6 smooth Gaussian bumps, 5-30 samples wide, of either sign."""
    idx, out = np.arange(w), np.zeros((n, w))
    count = rng.integers(2, 7, (n, 1))
    for k in range(6):
        at, width = _col(rng, 0, w, n), _col(rng, 5, 30, n)
        out += (k < count) * _col(rng, -1, 1, n) * np.exp(-0.5 * ((idx - at) / width) ** 2)
    return out


def packets(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """1-2 tone bursts (a vibration sensor's impacts, an echo): a carrier at 30-70 cycles per window (2.1-5
    samples a cycle) under a Gaussian envelope 8-40 samples wide, silence around it. No training family has
    a fast carrier that starts and stops inside the window."""
    idx, u, out = np.arange(w), _u(n, w), np.zeros((n, w))
    count = rng.integers(1, 3, (n, 1))
    for k in range(2):
        env = np.exp(-0.5 * ((idx - _col(rng, 0.15 * w, 0.85 * w, n)) / _col(rng, 8, 40, n)) ** 2)
        tone = np.sin(2 * np.pi * _col(rng, 30, 70, n) * u + _col(rng, 0, 6.3, n))
        out += (k < count) * _col(rng, 0.3, 1, n) * env * tone
    return out


def poly(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """Cubic polynomials with random roots in and around the window."""
    u = _u(n, w)
    out = np.ones((n, w))
    for _ in range(3):
        out = out * (u - _col(rng, -0.3, 1.3, n))
    return out


HELDOUT: dict[str, Family] = {"ecg": ecg, "rc": rc, "square_true": square_true, "saw_true": saw_true,
                              "fm": fm, "bumps": bumps, "packets": packets, "poly": poly}
