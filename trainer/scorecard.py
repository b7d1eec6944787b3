"""`hush eval MODEL`: score a model file on held-out windows at chosen input SNRs, next to the classical
filters tuned over a grid on those very windows (a generous bar), through the same path the daemon serves.

Sources of windows, one per run:
- synthetic (default): fresh windows of the families and noise kinds the model was trained on, drawn with a
  seed the trainer never used;
- `--clean FILE`: the last `test_fraction` of a clean recording (the part `hush train --clean` held out),
  cut every W/2 samples, with noise from the model's noise kinds; plus a stream test: the held-out part
  denoised as one noisy stream, window by window (hop W) and stitched (hop W/2), to measure seams;
- `--pairs CLEAN NOISY`: your own matching clean and noisy arrays, (n, W) or 1-D (cut every W samples).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hush import modelfile
from hush.clients.stitch import Stitcher
from hush.config import TrainConfig, build_section
from hush.samples import cut_windows, load_samples
from hush.trainer import data, evaluate
from hush.trainer.noise import add_noise

EDGE = 10  # samples at each end of a window that count as "near the edge"


def _train_config(meta: dict[str, Any]) -> TrainConfig:
    """The model's training settings, checked like a config file (keys this Hush does not know are
    dropped: the model may come from a newer one)."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    values = {k: v for k, v in meta.get("train_config", {}).items() if k in known}
    return build_section(TrainConfig, values, f"model {meta.get('id')} train_config")


def _load_array(path: str, window: int) -> np.ndarray:
    """(n, W) windows from a .npy of that shape, or from any 1-D signal file cut every W samples."""
    if path.endswith(".npy"):
        a = np.load(path, allow_pickle=False).astype(np.float64)
        if a.ndim == 2:
            return a
    else:
        a = load_samples(path)
    return cut_windows(a.reshape(-1), window, window)


def score_windows(denoise: Callable[[np.ndarray], np.ndarray], clean: np.ndarray,
                  noisy: np.ndarray) -> dict[str, Any]:
    """The model and every tuned baseline on one set of windows; margin = model gain - best baseline gain."""
    model = evaluate.compare(clean, noisy, denoise(noisy))
    baselines = evaluate.best_baselines(clean, noisy)
    best = max(baselines, key=lambda k: baselines[k]["snr_gain_db"])
    return {"model": model, "baselines": baselines, "best_baseline": best,
            "margin_db": model["snr_gain_db"] - baselines[best]["snr_gain_db"]}


def stream_seams(denoise: Callable[[np.ndarray], np.ndarray], x: np.ndarray, cfg: TrainConfig, snr_db: float,
                 rng: np.random.Generator) -> dict[str, float]:
    """One noisy stream denoised window by window (hop W) and stitched (hop W/2): RMSE overall and within
    EDGE samples of the hop-W windows' edges."""
    w = cfg.window
    n = (x.size // w) * w
    x = x[:n]
    noisy = add_noise(x[None, :], cfg, rng, snr_db)[0]
    plain = denoise(noisy.reshape(-1, w)).reshape(-1)
    hop = w // 2
    starts = range(0, n - w + 1, hop)
    st = Stitcher(w, hop)
    ys = denoise(cut_windows(noisy, w, hop))
    stitched = np.concatenate([st.add(i, y) for i, y in zip(starts, ys, strict=True)] + [st.flush()])
    pos = np.arange(n) % w
    edge = (pos < EDGE) | (pos >= w - EDGE)

    def rmse(a: np.ndarray, mask: np.ndarray) -> float:
        return float(np.sqrt(np.mean((a[mask] - x[mask]) ** 2)))

    every = np.ones(n, bool)
    return {"snr_db": snr_db, "rmse_noisy": rmse(noisy, every),
            "rmse_plain": rmse(plain, every), "rmse_plain_edges": rmse(plain, edge),
            "rmse_plain_middle": rmse(plain, ~edge), "rmse_stitched": rmse(stitched, every),
            "rmse_stitched_edges": rmse(stitched, edge), "rmse_stitched_middle": rmse(stitched, ~edge)}


def run_eval(model_path: str | Path, snrs: list[float], n: int = 2000, clean_path: str | None = None,
             pairs: tuple[str, str] | None = None, out_dir: str | Path = "eval-out",
             say: Callable[[str], None] = print) -> dict[str, Any]:
    from hush.daemon.runner import Runner

    meta = modelfile.read_meta(model_path)
    runner = Runner.load(model_path, max_batch=256)
    cfg = _train_config(meta)
    if cfg.noise == ["seed"]:
        cfg = dataclasses.replace(cfg, noise=["white"])  # the tutorial's noise has no SNR to set
    rng = np.random.default_rng(cfg.seed + 10_007)  # windows the trainer never drew
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"model": meta["id"], "by_snr": {}}
    examples: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    if pairs:
        c, z = _load_array(pairs[0], cfg.window), _load_array(pairs[1], cfg.window)
        if c.shape != z.shape or c.shape[1] != cfg.window:
            raise ValueError(f"pairs must be matching (n, {cfg.window}) arrays, got {c.shape} and {z.shape}")
        result["source"] = {"kind": "pairs", "clean": pairs[0], "noisy": pairs[1], "windows": len(c)}
        r = score_windows(runner.denoise, c, z)
        result["by_snr"]["given"] = r
        examples = (c, z, runner.denoise(z[:4]))
    else:
        if clean_path:
            x = load_samples(clean_path)
            tail = x[int(round(x.size * (1 - cfg.test_fraction))):]
            clean = cut_windows(tail, cfg.window, cfg.window // 2)
            result["source"] = {"kind": "recording", "path": clean_path, "held_out_samples": int(tail.size),
                                "windows": len(clean)}
        else:
            clean = data.synthetic_clean(cfg, n, rng)
            result["source"] = {"kind": "synthetic", "families": cfg.families, "windows": n}
        result["source"]["noise"] = cfg.noise
        for snr in snrs:
            noisy = add_noise(clean, cfg, rng, snr)
            r = score_windows(runner.denoise, clean, noisy)
            result["by_snr"][str(snr)] = r
            if examples is None or snr == 10:
                examples = (clean[:4], noisy[:4], runner.denoise(noisy[:4]))
        if clean_path:
            result["stream"] = stream_seams(runner.denoise, tail, cfg, 10.0, rng)

    say(table(result))
    (out / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(out / "eval.png", result, examples)
    say(f"wrote {out / 'eval.json'} and {out / 'eval.png'}")
    return result


def table(result: dict[str, Any]) -> str:
    lines = [f"model {result['model']} on {result['source']['kind']} windows ({result['source']['windows']}); "
             "SNR gain in dB, mean over windows",
             f"{'input SNR':>10}{'model':>9}{'mov.avg':>9}{'Sav-Gol':>9}{'Butter':>9}{'Wiener':>9}"
             f"{'margin':>9}  {'SNR out':>8}"]
    for snr, r in result["by_snr"].items():
        b = r["baselines"]
        cells = "".join(f"{b[k]['snr_gain_db']:>+9.2f}" if k in b else f"{'-':>9}"
                        for k in ("moving average", "Savitzky-Golay", "Butterworth filtfilt", "Wiener"))
        lines.append(f"{snr:>10}{r['model']['snr_gain_db']:>+9.2f}{cells}{r['margin_db']:>+9.2f}  "
                     f"{r['model']['snr_out_db']:>8.2f}")
    lines.append("margin: model gain minus the best baseline's, each baseline tuned on these windows")
    if "stream" in result:
        s = result["stream"]
        lines.append(f"stream at {s['snr_db']:g} dB, RMSE (input's units): noisy {s['rmse_noisy']:.4g}; window by "
                     f"window {s['rmse_plain']:.4g} (edges {s['rmse_plain_edges']:.4g}, middle "
                     f"{s['rmse_plain_middle']:.4g}); stitched {s['rmse_stitched']:.4g} (edges "
                     f"{s['rmse_stitched_edges']:.4g}, middle {s['rmse_stitched_middle']:.4g})")
    return "\n".join(lines)


def plot(path: Path, result: dict[str, Any],
         examples: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    snrs = [k for k in result["by_snr"] if k != "given"]
    if snrs:
        x = [float(k) for k in snrs]
        ax = axes[0]
        ax.plot(x, [result["by_snr"][k]["model"]["snr_gain_db"] for k in snrs], "o-", lw=2, label="hush model")
        for name in ("moving average", "Savitzky-Golay", "Butterworth filtfilt", "Wiener"):
            ax.plot(x, [result["by_snr"][k]["baselines"][name]["snr_gain_db"] for k in snrs], ".--", label=name)
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_xlabel("input SNR, dB")
        ax.set_ylabel("SNR gain, dB")
        ax.set_title(f"{result['model']} on {result['source']['kind']} windows", fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    if examples is not None:
        c, z, y = examples
        ax = axes[1]
        for i in range(min(2, len(c))):
            off = i * 1.2 * (np.ptp(c[0]) + 1e-9)
            ax.plot(z[i] + off, color="0.75", lw=0.8, label="noisy" if i == 0 else None)
            ax.plot(c[i] + off, color="tab:green", lw=1.4, label="clean" if i == 0 else None)
            ax.plot(y[i] + off, color="tab:blue", lw=1.0, label="denoised" if i == 0 else None)
        ax.set_title("examples (10 dB input when scored)", fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
