"""Honest scores: RMSE, SNR and its gain in dB, PRD; classical per-window filters as the bar to beat.

SNR is taken per window, then averaged in dB over the windows, so that a loud window does not outweigh a
quiet one (the synthetic windows' amplitudes span two decades):
    snr_db(window) = min(60, 10 log10( sum (clean - mean(clean))^2 / sum (estimate - clean)^2 ))
A window restored better than 60 dB counts as 60 dB: a median filter makes a smooth window with one spike
exact to the last bit (hundreds of dB), and a few such windows would rule the mean.
Signal power is the clean window's variance (its AC power; an offset is not signal). The gain is
snr_db(output) - snr_db(input). `snr_total_db` is the SNR of all windows taken together (the sum of
their signal powers over the sum of their error powers), as one would measure it over a whole recording,
where loud windows do count more. RMSE is over all samples, in the input's units. PRD (percent root-mean-
square difference, used for ECG) is 100 sqrt(sum err^2 / sum clean^2) over all samples.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

SNR_CAP_DB = 60.0


def scores(clean: np.ndarray, estimate: np.ndarray) -> dict[str, float]:
    """RMSE, the mean of each window's SNR (capped), PRD, and the SNR of all windows together. A window whose
    clean signal does not vary (a square wave with no edge inside it, say) has no SNR and is left out of the
    mean: any change to it at all would score it some -500 dB and swamp the other windows."""
    err = np.asarray(estimate, np.float64) - clean
    signal = ((clean - clean.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    noise = np.maximum((err**2).sum(axis=1), 1e-30 * np.maximum(signal, 1e-30))
    varies = signal > 1e-20 * (clean**2).sum(axis=1)  # varies by more than float64 rounding at its level
    per_window = np.minimum(10 * np.log10(np.maximum(signal, 1e-300) / noise), SNR_CAP_DB)
    return {
        "rmse": float(np.sqrt((err**2).mean())),
        "snr_db": float(np.mean(per_window[varies])) if varies.any() else float("nan"),
        "prd_percent": float(100 * np.sqrt((err**2).sum() / max(float((clean**2).sum()), 1e-300))),
        "snr_total_db": float(10 * np.log10(max(float(signal.sum()), 1e-300) / max(float((err**2).sum()),
                                                                                     1e-300))),
    }


def compare(clean: np.ndarray, noisy: np.ndarray, denoised: np.ndarray) -> dict[str, float]:
    """Input and output scores side by side, with the SNR gain."""
    a, b = scores(clean, noisy), scores(clean, denoised)
    return {"rmse_in": a["rmse"], "rmse_out": b["rmse"], "snr_in_db": a["snr_db"], "snr_out_db": b["snr_db"],
            "snr_gain_db": b["snr_db"] - a["snr_db"], "prd_in_percent": a["prd_percent"],
            "prd_out_percent": b["prd_percent"], "snr_total_in_db": a["snr_total_db"],
            "snr_total_out_db": b["snr_total_db"], "snr_total_gain_db": b["snr_total_db"] - a["snr_total_db"]}


def _moving_average(x: np.ndarray, k: int) -> np.ndarray:
    from scipy.ndimage import uniform_filter1d

    return uniform_filter1d(x, size=k, axis=1, mode="nearest")


def _savgol(x: np.ndarray, k: int, order: int) -> np.ndarray:
    from scipy.signal import savgol_filter

    return savgol_filter(x, k, order, axis=1, mode="interp")


def _butterworth(x: np.ndarray, cutoff: float, order: int = 4) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    sos = butter(order, cutoff, output="sos")  # cutoff as a fraction of Nyquist
    return sosfiltfilt(sos, x, axis=1, padlen=min(x.shape[1] - 1, 3 * (2 * len(sos) + 1)))


def _wiener(x: np.ndarray, k: int) -> np.ndarray:
    from scipy.signal import wiener

    with np.errstate(divide="ignore", invalid="ignore"):  # a flat stretch: scipy divides by its zero variance,
        return np.asarray(wiener(x, mysize=[1, k]))      # then takes the local mean there instead


def _median(x: np.ndarray, k: int) -> np.ndarray:
    from scipy.ndimage import median_filter

    return np.asarray(median_filter(x, size=(1, k), mode="nearest"))


def alias(f: float, rate: float) -> float:
    """Where a tone of f Hz lands when sampled at `rate` (folded into 0 .. rate / 2)."""
    return abs(((f + rate / 2) % rate) - rate / 2)


def _notch(x: np.ndarray, mains: float, rate: float, harmonics: int, q: float) -> np.ndarray:
    """Zero-phase notches (scipy iirnotch, filtfilt) at mains and its harmonics up to `harmonics`, each
    where sampling at `rate` puts it."""
    from scipy.signal import filtfilt, iirnotch

    y = x
    done: set[float] = set()
    for k in range(1, harmonics + 1):
        w0 = round(alias(k * mains, rate) / (rate / 2), 6)
        if not 0.005 < w0 < 0.995 or w0 in done:
            continue
        done.add(w0)
        b, a = iirnotch(w0, q)
        y = filtfilt(b, a, y, axis=1, padlen=min(x.shape[1] - 1, 9))
    return y


Filter = Callable[[np.ndarray], np.ndarray]


def baseline_grid(rate: float = 360.0) -> dict[str, list[tuple[str, Filter]]]:
    """Each classical filter with the parameter grid it is tuned over. The notch is placed at 50 or 60 Hz
    and harmonics for a sampling rate of `rate` Hz. Every filter sees each window less its mean, which is
    added back after: the same for these filters in exact arithmetic, and it spares scipy's Wiener the
    cancellation of E[x^2] - E[x]^2 on a small signal with a large offset (a sensor at 1000 +- 0.001)."""
    grid: dict[str, list[tuple[str, Filter]]] = {
        "moving average": [(f"k={k}", partial(_moving_average, k=k)) for k in (3, 5, 7, 9, 13, 17, 25)],
        "Savitzky-Golay": [(f"k={k},p={p}", partial(_savgol, k=k, order=p))
                           for k in (7, 11, 15, 21, 31, 41) for p in (2, 3, 4) if p < k],
        "Butterworth filtfilt": [(f"fc={c}", partial(_butterworth, cutoff=c))
                                 for c in (0.02, 0.04, 0.06, 0.1, 0.15, 0.2, 0.3, 0.45)],
        "Wiener": [(f"k={k}", partial(_wiener, k=k)) for k in (3, 5, 9, 15, 25)],
        "median": [(f"k={k}", partial(_median, k=k)) for k in (3, 5, 7, 9, 11, 15, 21)],
        "notch": [(f"{m}Hz,h{h},Q{q}", partial(_notch, mains=m, rate=rate, harmonics=h, q=q))
                  for m in (50.0, 60.0) for h in (1, 3, 5) for q in (2.0, 5.0, 15.0)],
    }
    return {name: [(label, partial(_centred, fn=fn)) for label, fn in settings] for name, settings in grid.items()}


def _centred(x: np.ndarray, fn: Filter) -> np.ndarray:
    mean = x.mean(axis=1, keepdims=True)
    return np.asarray(fn(x - mean)) + mean


def best_baselines(clean: np.ndarray, noisy: np.ndarray, rate: float = 360.0) -> dict[str, dict[str, Any]]:
    """Every filter at its best setting on these very windows: a generous bar (tuned on the test set)."""
    return best_baselines_by_group(clean, noisy, {"all": np.ones(len(clean), bool)}, rate)["all"]


def best_baselines_by_group(clean: np.ndarray, noisy: np.ndarray, groups: dict[str, np.ndarray],
                            rate: float = 360.0) -> dict[str, dict[str, dict[str, Any]]]:
    """best_baselines for each group of windows (a boolean mask each), tuned per group: the filters run
    once over all windows, since each works on one window at a time."""
    out: dict[str, dict[str, dict[str, Any]]] = {g: {} for g in groups}
    for name, grid in baseline_grid(rate).items():
        for label, fn in grid:
            with np.errstate(all="ignore"):
                est = fn(noisy)
            for g, mask in groups.items():
                e = est[mask]
                if not mask.any() or not np.isfinite(e).all():
                    continue
                s = compare(clean[mask], noisy[mask], e)
                best = out[g].get(name)
                if best is None or s["snr_gain_db"] > best["snr_gain_db"]:
                    out[g][name] = {"setting": label, **s}
    return out


def noise_sigma(noisy: np.ndarray) -> np.ndarray:
    """Each window's noise level estimated from the noisy window alone: the median absolute first difference
    over 0.6745 sqrt(2) (Donoho's MAD estimate; a smooth signal's differences are small beside white
    noise's, and the median ignores the few large ones at edges and peaks)."""
    d = np.diff(noisy, axis=1)
    return np.median(np.abs(d - np.median(d, axis=1, keepdims=True)), axis=1) / (0.6745 * np.sqrt(2))


BLIND = ("Butterworth filtfilt", "Savitzky-Golay", "moving average")


def blind_baselines(clean: np.ndarray, noisy: np.ndarray, rate: float = 360.0) -> dict[str, dict[str, Any]]:
    """What a user without a clean reference gets: each low-pass filter at the one setting (for all the
    windows) whose removed part has, on average, the power of the noise estimated by noise_sigma (the
    discrepancy principle). The truth is used only to score the result."""
    sigma2 = np.maximum(noise_sigma(noisy) ** 2, 1e-300)
    out: dict[str, dict[str, Any]] = {}
    for name in BLIND:
        best: tuple[float, str, np.ndarray] | None = None
        for label, fn in baseline_grid(rate)[name]:
            with np.errstate(all="ignore"):
                est = fn(noisy)
            if not np.isfinite(est).all():
                continue
            miss = float(np.mean(np.log(np.maximum(((noisy - est) ** 2).mean(axis=1), 1e-300) / sigma2) ** 2))
            if best is None or miss < best[0]:
                best = (miss, label, est)
        if best is not None:
            out[name] = {"setting": best[1], **compare(clean, noisy, best[2])}
    return out


def best_estimate(noisy: np.ndarray, name: str, setting: str, rate: float = 360.0) -> np.ndarray:
    """The output of one filter at one setting (as best_baselines names them)."""
    return dict(baseline_grid(rate)[name])[setting](noisy)


def plot_examples(path: str | Path, clean: np.ndarray | None, noisy: np.ndarray, denoised: np.ndarray,
                  title: str, count: int = 4) -> None:
    """A PNG of `count` windows: noisy, clean (where known) and denoised, in the input's units."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = max(1, min(count, len(noisy)))
    fig, axes = plt.subplots(count, 1, figsize=(9, 2.2 * count), squeeze=False)
    for i, ax in enumerate(axes[:, 0]):
        ax.plot(noisy[i], color="0.7", lw=1, label="noisy")
        if clean is not None:
            ax.plot(clean[i], color="tab:green", lw=1.5, label="clean")
        ax.plot(denoised[i], color="tab:blue", lw=1.2, label="denoised")
        if i == 0:
            ax.legend(loc="upper right", fontsize=8, ncol=3)
    axes[0, 0].set_title(title, fontsize=10)
    axes[-1, 0].set_xlabel("sample")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_loss(path: str | Path, history: dict[str, list[float]], title: str) -> None:
    """A PNG of the loss per epoch, training and validation (a log scale where the loss is positive)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for key, style in (("loss", "o-"), ("val_loss", "s--")):
        if history.get(key):
            ax.plot(range(1, len(history[key]) + 1), history[key], style, ms=3, label=key)
    positive = all(v > 0 for k in ("loss", "val_loss") for v in history.get(k, []))
    ax.set(xlabel="epoch", ylabel="loss", yscale="log" if positive else "linear", title=title)
    ax.title.set_fontsize(9)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def format_table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    """A plain-text table: name, RMSE in -> out, SNR in -> out, gain."""
    lines = [f"{'method':<28}{'setting':>14}{'RMSE in':>11}{'RMSE out':>11}{'SNR in':>9}{'SNR out':>9}"
             f"{'gain dB':>9}"]
    for name, s in rows:
        lines.append(f"{name:<28}{s.get('setting', ''):>14}{s['rmse_in']:>11.4g}{s['rmse_out']:>11.4g}"
                     f"{s['snr_in_db']:>9.2f}{s['snr_out_db']:>9.2f}{s['snr_gain_db']:>+9.2f}")
    return "\n".join(lines)
