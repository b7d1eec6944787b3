"""Noise models. The noise added to a window is set by its SNR: the window's signal variance (its AC power; an
offset is not signal) over the noise's variance, drawn uniformly in [snr_db_min, snr_db_max] per window or
fixed by the caller.

Two sorts of kind:
- additive (white, pink, brown, spikes, wander, hum): noise that does not depend on the signal; each kind is
  made at unit variance, the listed kinds are summed at equal power and the sum is scaled to the SNR;
- distortions (clip, quantize, dropout): what a sensor's electronics do to the signal itself; the error they
  make is solved, per window, to the SNR asked (clip level, quantisation step, dropout rate).
Listed together, every kind gets an equal share of the noise power.

`mix` is the default model's training noise: per window, white (within 10 dB) plus each of pink, spikes
and hum with probability 0.4 at random relative levels (within 20 dB), or, in 30 % of the windows, one of
those four alone; hum within 2 % of 50 or 60 Hz at `rate` (a mains frequency drifts, so does a sensor's
clock, but a tone elsewhere may be signal: a model taught hum over a band removes every tone in it); in
15 % of windows one distortion taking 30-70 % of the noise power. Brown noise and wander are left out:
within one window they look like signal, and a model taught to remove them removes signal too.
`mix_kinds` (TrainConfig) narrows the four kinds for training: without spikes, a model keeps a signal's own
one-sample events, which within a window are impulses (docs/quality.md, Limits).
A recording of the sensor's own noise (`--noise-file`: the sensor running with no signal) replaces the
synthetic noise, or takes `noise_file_share` of its power: segments of it, each offset removed, at the SNR.
`seed` is the tutorial's absolute noise, noise_factor * N(0, 1), and is not scaled to an SNR.
Hum and wander need the sampling rate (`rate` in [train]) to place 50/60 Hz and < 0.5 Hz.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from hush.errors import InputError

Kind = Callable[[np.random.Generator, int, int, Any], np.ndarray]


def _unit(x: np.ndarray) -> np.ndarray:
    """Each window scaled to unit variance (a window of zeros stays zeros)."""
    return x / np.maximum(x.std(axis=1, keepdims=True), 1e-12)


def white(rng: np.random.Generator, n: int, w: int, rate: Any) -> np.ndarray:
    return rng.standard_normal((n, w))


def _coloured(rng: np.random.Generator, n: int, w: int, exponent: float) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal((n, w)), axis=1)
    f = np.arange(spec.shape[1], dtype=float)
    f[0] = 1.0
    spec[:, 0] = 0  # no offset within the window: its power is all variance, like the other kinds
    return _unit(np.fft.irfft(spec / f ** (exponent / 2), n=w, axis=1))


def pink(rng: np.random.Generator, n: int, w: int, rate: Any) -> np.ndarray:
    """Power falling as 1/f."""
    return _coloured(rng, n, w, 1.0)


def brown(rng: np.random.Generator, n: int, w: int, rate: Any) -> np.ndarray:
    """Power falling as 1/f^2 (a random walk)."""
    return _coloured(rng, n, w, 2.0)


def spikes(rng: np.random.Generator, n: int, w: int, rate: Any) -> np.ndarray:
    """Impulses on 0.3-5 % of the samples (at least one per window), of random sign and heavy-tailed size."""
    p = np.exp(rng.uniform(np.log(0.003), np.log(0.05), (n, 1)))
    at = rng.random((n, w)) < p
    at[np.arange(n), rng.integers(0, w, n)] = True
    size = rng.standard_normal((n, w)) / np.sqrt(rng.uniform(0.05, 1.0, (n, w)))
    return _unit(at * size)


def wander(rng: np.random.Generator, n: int, w: int, rate: Any) -> np.ndarray:
    """Baseline wander: a slow sine of 0.05-0.5 Hz and a random slope."""
    t = np.arange(w) / rate
    f, ph = rng.uniform(0.05, 0.5, (n, 1)), rng.uniform(0, 2 * np.pi, (n, 1))
    x = np.sin(2 * np.pi * f * t + ph) + rng.uniform(-1, 1, (n, 1)) * np.arange(w) / w
    return _unit(x - x.mean(axis=1, keepdims=True))


def hum(rng: np.random.Generator, n: int, w: int, rate: Any) -> np.ndarray:
    """Mains hum at 50 or 60 Hz (+-0.5 %) with harmonics 2-5 of random weight (the 3rd strongest), aliased
    where the rate is too low for them. `rate` may be one number or one per window, (n, 1)."""
    t = np.arange(w) / np.asarray(rate, dtype=float).reshape(-1, 1)
    f = np.where(rng.random((n, 1)) < 0.5, 50.0, 60.0) * rng.uniform(0.995, 1.005, (n, 1))
    x = np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi, (n, 1)))
    for k, top in ((2, 0.15), (3, 0.5), (4, 0.1), (5, 0.25)):
        x = x + rng.uniform(0, top, (n, 1)) * np.sin(2 * np.pi * k * f * t + rng.uniform(0, 2 * np.pi, (n, 1)))
    return _unit(x)


ADDITIVE: dict[str, Kind] = {"white": white, "pink": pink, "brown": brown, "spikes": spikes, "wander": wander,
                             "hum": hum}


# --- distortions: an error that depends on the signal, solved per window to a target power ---------------

def _clip_error(x: np.ndarray, s: np.ndarray, state: dict[str, Any]) -> np.ndarray:
    """Saturation: the signal clipped to its mean +- (1 - s) of its largest excursion (each side its own)."""
    mid = x.mean(axis=1, keepdims=True)
    hi, lo = x.max(axis=1, keepdims=True), x.min(axis=1, keepdims=True)
    return np.clip(x, mid + (lo - mid) * (1 - s), mid + (hi - mid) * (1 - s)) - x


def _dropout_error(x: np.ndarray, s: np.ndarray, state: dict[str, Any]) -> np.ndarray:
    """Dropouts: runs of 2-20 samples where the sensor repeats its last good value; a run starts at a sample
    with probability s (the same random draws whatever s is, so the error grows with s)."""
    n, w = x.shape
    idx = np.broadcast_to(np.arange(w), (n, w))
    start = np.where(state["u"] < s, idx, -(10**9))
    last = np.maximum.accumulate(start, axis=1)
    held = (idx - last) < state["length"]
    src = np.maximum(last - 1, 0)
    return np.where(held, np.take_along_axis(x, src, axis=1), x) - x


def _solve(error: Callable[..., np.ndarray], x: np.ndarray, power: np.ndarray, top: float,
           state: dict[str, Any]) -> np.ndarray:
    """Bisection on the strength s in [0, top], per window, for an error of the given power (or the most
    the distortion can do); of the two last bounds, the one whose power is nearer (in dB) is kept."""
    lo, hi = np.zeros((len(x), 1)), np.full((len(x), 1), top)
    for _ in range(30):
        mid = (lo + hi) / 2
        too_much = (error(x, mid, state) ** 2).mean(axis=1, keepdims=True) > power
        hi, lo = np.where(too_much, mid, hi), np.where(too_much, lo, mid)
    e_lo, e_hi = error(x, lo, state), error(x, hi, state)

    def off(e: np.ndarray) -> np.ndarray:
        return np.abs(np.log(np.maximum((e**2).mean(axis=1, keepdims=True), 1e-300) / power))

    return np.where(off(e_lo) <= off(e_hi), e_lo, e_hi)


def clip(rng: np.random.Generator, x: np.ndarray, power: np.ndarray, rate: Any) -> np.ndarray:
    return _solve(_clip_error, x, power, 1.0, {})


def dropout(rng: np.random.Generator, x: np.ndarray, power: np.ndarray, rate: Any) -> np.ndarray:
    state = {"u": rng.random(x.shape), "length": rng.integers(2, 21, (len(x), 1))}
    return _solve(_dropout_error, x, power, 0.5, state)


def _quantize_error(x: np.ndarray, s: np.ndarray, state: dict[str, Any]) -> np.ndarray:
    step = np.maximum(s * state["unit"], 1e-300)
    shift = state["u"] * step
    return step * np.round((x + shift) / step) - shift - x


def quantize(rng: np.random.Generator, x: np.ndarray, power: np.ndarray, rate: Any) -> np.ndarray:
    """An ADC's rounding of the signal in its own units (offset included), with the step solved for the
    power (near sqrt(12 power) when the step is small against the signal), the grid shifted at random."""
    state = {"unit": np.sqrt(12 * power), "u": rng.uniform(0, 1, (len(x), 1))}
    return _solve(_quantize_error, x, power, 8.0, state)


DISTORTIONS: dict[str, Callable[..., np.ndarray]] = {"clip": clip, "quantize": quantize, "dropout": dropout}
KINDS = (*ADDITIVE, *DISTORTIONS, "mix")


def _snr(cfg: Any, rng: np.random.Generator, n: int, snr_db: float | np.ndarray | None) -> np.ndarray:
    if snr_db is None:
        return rng.uniform(cfg.snr_db_min, cfg.snr_db_max, (n, 1))
    return np.broadcast_to(np.asarray(snr_db, dtype=float).reshape(-1, 1), (n, 1))


MIXED = ("white", "pink", "spikes", "hum")  # brown and wander stay out: one window cannot tell them from signal


def _mixture(clean: np.ndarray, rng: np.random.Generator, rate: float, noise_power: np.ndarray,
             kinds: tuple[str, ...] = MIXED) -> np.ndarray:
    """The `mix` recipe (module docstring) of `kinds`, some of MIXED with white among them (TrainConfig's
    mix_kinds); with all of MIXED it draws exactly what it always drew."""
    n, w = clean.shape
    kinds = tuple(k for k in MIXED if k in kinds)
    alone = np.where(rng.random(n) < 0.3, rng.integers(0, len(kinds), n), -1)  # 30 %: one kind alone
    total = np.zeros((n, w))
    for i, name in enumerate(kinds):
        on = (rng.random((n, 1)) < (1.0 if name == "white" else 0.4)) & (alone[:, None] < 0) | (alone[:, None] == i)
        level = np.exp(rng.uniform(np.log(0.1 if name == "white" else 0.01), 0, (n, 1)))
        r = rate * rng.uniform(0.98, 1.02, (n, 1)) if name == "hum" else rate
        total = total + on * np.sqrt(level) * ADDITIVE[name](rng, n, w, r)
    share = np.where(rng.random((n, 1)) < 0.15, rng.uniform(0.3, 0.7, (n, 1)), 0.0)
    noise = _unit(total) * np.sqrt(noise_power * (1 - share))
    which = rng.integers(0, len(DISTORTIONS), n)
    for i, fn in enumerate(DISTORTIONS.values()):
        pick = (which == i) & (share[:, 0] > 0)
        if pick.any():
            noise[pick] += fn(rng, clean[pick], noise_power[pick] * share[pick], rate)
    return noise


def make_noise(clean: np.ndarray, kinds: list[str], rng: np.random.Generator, rate: float,
               noise_power: np.ndarray, mixed: tuple[str, ...] = MIXED) -> np.ndarray:
    """The noise (n, W) for these kinds at this power per window (n, 1); `mixed`: the kinds `mix` mixes."""
    n, w = clean.shape
    if kinds == ["mix"]:
        return _mixture(clean, rng, rate, noise_power, mixed)
    additive = [k for k in kinds if k in ADDITIVE]
    share = noise_power / len(kinds)
    noise = np.zeros_like(clean, dtype=np.float64)
    if additive:
        summed = sum(_unit(ADDITIVE[k](rng, n, w, rate)) for k in additive)
        noise += _unit(np.asarray(summed)) * np.sqrt(share * len(additive))
    for k in kinds:
        if k in DISTORTIONS:
            noise += DISTORTIONS[k](rng, clean, share, rate)
    return noise


def split(n: int, test_fraction: float, val_fraction: float) -> tuple[slice, slice, slice]:
    """Keras's order: the last test_fraction is the test set; of the rest, the last val_fraction validates."""
    n_test = int(round(n * test_fraction))
    n_rest = n - n_test
    n_val = int(n_rest * val_fraction)
    return slice(0, n_rest - n_val), slice(n_rest - n_val, n_rest), slice(n_rest, n)


class Recorded:
    """Noise recorded from the sensor itself, to draw windows of: the samples of `x` (1-D) in segments of
    `window` starting anywhere. The recording is split in time as a clean one is (`split`): `part` is "train",
    "val" or "test", so validation and scoring never draw a segment that training drew."""

    def __init__(self, x: np.ndarray, window: int, test_fraction: float, part: str, where: str,
                 val_fraction: float = 0.0):
        x = x[split(x.size, test_fraction, val_fraction)[("train", "val", "test").index(part)]]
        if x.size < window:
            raise InputError(f"{where}: the {part} part of the noise recording has {x.size} samples, fewer "
                             f"than one window of {window}")
        if np.ptp(x) == 0:
            raise InputError(f"{where}: the noise recording is flat (every sample {x[0]!r}): nothing to learn")
        self.x, self.window = x, window

    def draw(self, rng: np.random.Generator, n: int, length: int | None = None) -> np.ndarray:
        """n rows of unit-variance noise, each `length` samples (default the window): segments of a window
        from random places, joined end to end where a row is longer than one."""
        length = length or self.window
        pieces = -(-length // self.window)
        starts = rng.integers(0, self.x.size - self.window + 1, n * pieces)
        seg = self.x[starts[:, None] + np.arange(self.window)]
        seg = seg - seg.mean(axis=1, keepdims=True)
        flat = seg.std(axis=1) == 0
        seg[flat] = rng.standard_normal((int(flat.sum()), self.window)) * self.x.std()  # a rare flat stretch
        return _unit(_unit(seg).reshape(n, pieces * self.window)[:, :length])


def add_noise(clean: np.ndarray, cfg: Any, rng: np.random.Generator,
              snr_db: float | np.ndarray | None = None, kinds: list[str] | None = None,
              recorded: Recorded | None = None, share: float = 1.0) -> np.ndarray:
    """Noisy copies of clean windows (n, W). `snr_db` (one value, or one per window) fixes the SNR instead
    of drawing it; `kinds` replaces cfg.noise; `recorded` noise takes `share` of the noise power. The kinds
    `mix` mixes are cfg.mix_kinds where the kinds are cfg's (training), all of MIXED where the caller names
    them: `hush eval`'s mix table is the same test for every model."""
    mixed = MIXED if kinds else tuple(cfg.mix_kinds)
    kinds = list(kinds or cfg.noise)
    if kinds == ["seed"] and recorded is None:
        return clean + cfg.noise_factor * rng.standard_normal(clean.shape)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or ("mix" in kinds and len(kinds) > 1):
        raise InputError(f"noise must be kinds from {', '.join(KINDS)} (mix alone), got {kinds}")
    n = len(clean)
    power = np.maximum(clean.var(axis=1, keepdims=True), 1e-12) / 10 ** (_snr(cfg, rng, n, snr_db) / 10)
    return clean + _made(clean, kinds, rng, cfg.rate, power, recorded, share, mixed)


def _made(clean: np.ndarray, kinds: list[str], rng: np.random.Generator, rate: float, power: np.ndarray,
          recorded: Recorded | None, share: float, mixed: tuple[str, ...] = MIXED) -> np.ndarray:
    if recorded is None:
        return make_noise(clean, kinds, rng, rate, power, mixed)
    noise = recorded.draw(rng, len(clean), clean.shape[1]) * np.sqrt(power * share)
    if share < 1:
        noise += make_noise(clean, kinds, rng, rate, power * (1 - share), mixed)
    return noise


def add_noise_at_level(clean: np.ndarray, kinds: list[str], rng: np.random.Generator, rate: float,
                       snr_db: float, recorded: Recorded | None = None, share: float = 1.0) -> np.ndarray:
    """Noise of one fixed power for every window, as a sensor makes it whatever the signal does: the power
    is set so that the SNR over all windows together (total signal variance over total noise power) is
    `snr_db`; windows of small amplitude get a low SNR, loud ones a high one."""
    signal = float(np.mean(clean.var(axis=1)))
    power = np.full((len(clean), 1), signal / 10 ** (snr_db / 10))
    return clean + _made(clean, kinds, rng, rate, power, recorded, share)
