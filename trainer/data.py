"""Training data: clean windows from synthetic signal families or a recording, and the noise added to them.

Everything is vectorised over windows (no Python loop per window or per sample), so 100,000 windows take
about a second. Time inside a window is u = i / W for i = 0..W-1; frequencies are in cycles per window.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hush.config import TrainConfig

Family = Callable[[np.random.Generator, int, int, float], np.ndarray]


def _u(n: int, w: int) -> np.ndarray:
    return np.broadcast_to(np.arange(w) / w, (n, w))


def _col(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return rng.uniform(lo, hi, (n, 1))


def _tone_freq(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """Three tones in four log-uniform in 0.3 .. 2.5 fmax cycles per window (as many slow tones as fast
    ones), the fourth uniform from there up to 0.48 W (3 samples a cycle and less; Nyquist is 0.5 W): no
    tone a sensor can carry lies outside training, so a strong tone anywhere is something the model has
    seen as signal (not only as hum)."""
    low = min(2.5 * fmax, 0.48 * w)
    f = np.exp(_col(rng, np.log(0.3), np.log(max(low, 0.31)), n))
    fast = rng.uniform(low, 0.48 * w, (n, 1))
    return np.where(rng.random((n, 1)) < 0.25, fast, f)


def sines(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """Sums of 1-3 sines of random phase and amplitude, their frequencies as _tone_freq draws them."""
    u, out = _u(n, w), np.zeros((n, w))
    count = rng.integers(1, 4, (n, 1))
    for k in range(3):
        on = (k < count).astype(float)
        f = _tone_freq(rng, n, w, fmax)
        ph, a = _col(rng, 0, 2 * np.pi, n), _col(rng, 0.2, 1.0, n)
        out += on * a * np.sin(2 * np.pi * f * u + ph)
    return out


def parabola(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """The seed's x^2 (x from -0.5 to 0.99) with random sign and a random vertex shift."""
    x = np.broadcast_to(np.arange(-50, w - 50) * 0.01, (n, w))
    return np.sign(_col(rng, -1, 1, n)) * (x - _col(rng, -0.3, 0.3, n)) ** 2


def seed_parabola(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """The seed's data exactly: every window is y = x^2, x = i * 0.01 for i = -50 .. W-51."""
    return np.broadcast_to((np.arange(-50, w - 50) * 0.01) ** 2, (n, w)).copy()


def chirp(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    u = _u(n, w)
    f0, f1 = _tone_freq(rng, n, w, fmax), _tone_freq(rng, n, w, fmax)
    return np.sin(2 * np.pi * (f0 * u + 0.5 * (f1 - f0) * u**2) + _col(rng, 0, 2 * np.pi, n))


def _harmonics(rng: np.random.Generator, n: int, w: int, fmax: float, odd_only: bool) -> np.ndarray:
    # Band-limited: harmonics above W/6 cycles per window are left out, so the wave stays smooth enough
    # to be told from the noise.
    u, f = _u(n, w), _col(rng, 0.5, max(0.6, fmax / 2), n)
    ph, out = _col(rng, 0, 2 * np.pi, n), np.zeros((n, w))
    for k in range(1, 24):
        if odd_only and k % 2 == 0:
            continue
        amp = (1.0 / k) if odd_only else ((-1) ** (k + 1)) / k
        out += (k * f < w / 6) * amp * np.sin(2 * np.pi * k * f * u + k * ph)
    return out


def square(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    return _harmonics(rng, n, w, fmax, odd_only=True)


def sawtooth(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    return _harmonics(rng, n, w, fmax, odd_only=False)


def damped(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    u = _u(n, w)
    return np.exp(-_col(rng, 0.5, 6, n) * u) * np.sin(2 * np.pi * _col(rng, 0.5, fmax, n) * u
                                                       + _col(rng, 0, 2 * np.pi, n))


def steps(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """Piecewise-constant levels with 1-3 jumps at random places."""
    idx, out = np.arange(w), np.zeros((n, w))
    for k in range(3):
        at = rng.integers(1, w, (n, 1))
        jump = np.sign(_col(rng, -1, 1, n)) * _col(rng, 0.2, 1, n)  # never flat: |jump| >= 0.2
        out += (idx >= at) * jump * (k == 0 or rng.random((n, 1)) < 0.6)
    return out


def walk(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """A random walk, low-passed in the frequency domain to at most fmax cycles per window."""
    x = np.cumsum(rng.standard_normal((n, w)), axis=1)
    spec = np.fft.rfft(x, axis=1)
    cut = rng.uniform(1.0, fmax, (n, 1))
    spec *= np.arange(spec.shape[1]) <= cut
    return np.fft.irfft(spec, n=w, axis=1)


def pulses(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """Rectangular pulse trains: sharp edges, random period (1-fmax per window), duty cycle and phase."""
    u = _u(n, w)
    period = 1 / _col(rng, 1.0, fmax, n)
    phase = ((u / period + _col(rng, 0, 1, n)) % 1.0)
    return (phase < _col(rng, 0.1, 0.9, n)).astype(float)


def spiky(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """Narrow peaks (1-6 samples wide, like heartbeats' QRS or particle counts) of random height and sign
    on a slow sine."""
    idx, out = np.arange(w), np.zeros((n, w))
    count = rng.integers(1, 6, (n, 1))
    for k in range(5):
        at, width = _col(rng, 0, w, n), _col(rng, 1.0, 6.0, n)
        out += (k < count) * _col(rng, 0.3, 1, n) * np.exp(-0.5 * ((idx - at) / width) ** 2)
    return out * np.sign(_col(rng, -1, 1, n)) + _col(rng, 0, 0.3, n) * np.sin(
        2 * np.pi * _col(rng, 0.3, 2, n) * _u(n, w) + _col(rng, 0, 2 * np.pi, n))


def ramps(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """Piecewise-linear: 2-8 knots joined by straight lines (kinks, no jumps)."""
    count = int(rng.integers(2, 9))
    knots = np.sort(rng.uniform(0, w, (n, count)), axis=1)
    knots = np.concatenate([np.zeros((n, 1)), knots, np.full((n, 1), w - 1.0)], axis=1)
    levels = rng.uniform(-1, 1, knots.shape)
    seg = (np.arange(w)[None, None, :] >= knots[:, 1:-1, None]).sum(axis=1)  # (n, w): knot on the left
    k0, k1 = np.take_along_axis(knots, seg, 1), np.take_along_axis(knots, seg + 1, 1)
    v0, v1 = np.take_along_axis(levels, seg, 1), np.take_along_axis(levels, seg + 1, 1)
    return v0 + (v1 - v0) * (np.arange(w) - k0) / np.maximum(k1 - k0, 1e-9)


def ringing(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """A struck resonance, as a vibration or acoustic sensor rings after an impact: 1-2 strikes, each
    silent before its onset (which may lie before the window), then an oscillation at a _tone_freq
    frequency (to 0.48 W) dying away over 5-150 samples."""
    idx, out = np.arange(w), np.zeros((n, w))
    count = rng.integers(1, 3, (n, 1))
    for k in range(2):
        at, tau = rng.integers(-w // 3, w - 5, (n, 1)), np.exp(_col(rng, np.log(5), np.log(150), n))
        at = np.where(at < -tau * np.log(10), 0, at)  # a ring struck before the window still sounds in it
        f, a = _tone_freq(rng, n, w, fmax), _col(rng, 0.3, 1.0, n) * (k < count)
        t = (idx - at).clip(0)
        out += (idx >= at) * a * np.exp(-t / tau) * np.sin(2 * np.pi * f * t / w + _col(rng, 0, 2 * np.pi, n))
    return out


def am(rng: np.random.Generator, n: int, w: int, fmax: float) -> np.ndarray:
    """An amplitude-modulated sine: a carrier up to fmax cycles per window, a slow envelope."""
    u = _u(n, w)
    env = 1 + _col(rng, 0.2, 0.9, n) * np.sin(2 * np.pi * _col(rng, 0.2, 2, n) * u + _col(rng, 0, 6.3, n))
    return env * np.sin(2 * np.pi * _col(rng, 1, fmax, n) * u + _col(rng, 0, 2 * np.pi, n))


FAMILIES: dict[str, Family] = {
    "sines": sines, "parabola": parabola, "seed_parabola": seed_parabola, "chirp": chirp, "square": square,
    "sawtooth": sawtooth, "damped": damped, "steps": steps, "walk": walk, "pulses": pulses, "spiky": spiky,
    "ramps": ramps, "am": am, "ringing": ringing,
}


def synthetic_clean(cfg: TrainConfig, n: int, rng: np.random.Generator,
                    families: dict[str, Family] | None = None) -> np.ndarray:
    """n clean windows, the families in equal shares, shuffled; amplitude and offset drawn per window."""
    return labelled_clean(cfg, n, rng, families)[0]


def labelled_clean(cfg: TrainConfig, n: int, rng: np.random.Generator,
                   families: dict[str, Family] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """synthetic_clean and, per window, the index of its family in cfg.families. `families` looks the
    names up elsewhere than FAMILIES (the held-out ones, say)."""
    table = FAMILIES if families is None else families
    names = cfg.families
    counts = np.full(len(names), n // len(names))
    counts[: n % len(names)] += 1
    parts = []
    for name, count in zip(names, counts, strict=True):
        x = table[name](rng, int(count), cfg.window, cfg.freq_max)
        if name != "seed_parabola":  # the seed's curve stays exactly as the tutorial made it
            peak = np.maximum(np.abs(x - x.mean(axis=1, keepdims=True)).max(axis=1, keepdims=True), 1e-9)
            amp = np.exp(rng.uniform(np.log(max(cfg.amplitude_min, 1e-6)), np.log(max(cfg.amplitude_max,
                         1e-6)), (int(count), 1)))
            x = x / peak * amp + rng.uniform(-cfg.offset_max, cfg.offset_max, (int(count), 1))
        parts.append(x)
    clean = np.concatenate(parts)
    label = np.repeat(np.arange(len(names)), counts)
    perm = rng.permutation(n)
    return clean[perm], label[perm]
