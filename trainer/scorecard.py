"""`hush eval MODEL`: score a model file on held-out windows at chosen input SNRs, next to the classical
filters tuned over a grid on those very windows (a generous bar), through the same path the daemon serves.

Sources of windows, one per run:
- synthetic (default): fresh windows, drawn with a seed the trainer never used, in two sets: `held-out`
  (trainer/heldout.py: families no default recipe trains on, at amplitudes 0.001-1000 and offsets +-1000)
  and `trained` (the model's own families and ranges). Each set is scored under every noise kind
  (`--noise`) at each SNR, per window or (`--fixed-level`) with one noise power for every window while the
  signal's amplitude varies, as a sensor makes it. Margins are given overall and per family;
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
from hush.config import TrainConfig, build_section
from hush.errors import InputError
from hush.samples import cut_windows, load_samples
from hush.stitch import Stitcher
from hush.trainer import data, evaluate
from hush.trainer.heldout import HELDOUT
from hush.trainer.noise import KINDS, Recorded, add_noise, add_noise_at_level

EDGE = 10  # samples at each end of a window that count as "near the edge"
FIXED_LEVEL = "fixed over the windows"  # eval.json's source.noise_level with --fixed-level


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
                  noisy: np.ndarray, rate: float = 360.0) -> dict[str, Any]:
    """The model and every tuned baseline on one set of windows; margin = model gain - best baseline gain.
    `blind` is the low-pass filters tuned without the truth (evaluate.blind_baselines), and `blind_margin`
    the model's gain over the best of them."""
    model = evaluate.compare(clean, noisy, denoise(noisy))
    baselines = evaluate.best_baselines(clean, noisy, rate)
    best = max(baselines, key=lambda k: baselines[k]["snr_gain_db"])
    blind = evaluate.blind_baselines(clean, noisy, rate)
    top = max(v["snr_gain_db"] for v in blind.values())
    return {"model": model, "baselines": baselines, "best_baseline": best,
            "margin_db": model["snr_gain_db"] - baselines[best]["snr_gain_db"], "blind": blind,
            "blind_margin_db": model["snr_gain_db"] - top}


def stream_seams(denoise: Callable[[np.ndarray], np.ndarray], x: np.ndarray, cfg: TrainConfig, snr_db: float,
                 rng: np.random.Generator, kinds: list[str] | None = None,
                 recorded: Recorded | None = None) -> dict[str, float]:
    """One noisy stream denoised window by window (hop W) and stitched (hop W/2): RMSE overall and within
    EDGE samples of the hop-W windows' edges."""
    w = cfg.window
    n = (x.size // w) * w
    x = x[:n]
    noisy = add_noise(x[None, :], cfg, rng, snr_db, kinds, recorded)[0]
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


HELD_OUT_RANGES: dict[str, Any] = dict(amplitude_min=0.001, amplitude_max=1000.0, offset_max=1000.0)
TABLE_NAMES = {"moving average": "mov.avg", "Savitzky-Golay": "Sav-Gol", "Butterworth filtfilt": "Butter",
               "Wiener": "Wiener", "median": "median", "notch": "notch"}


def synthetic_sets(cfg: TrainConfig, which: str) -> dict[str, tuple[TrainConfig, dict[str, data.Family]]]:
    """The windows' recipes: `held-out` is every family of trainer/heldout.py at amplitudes and offsets
    beyond the default training's (0.001-1000, +-1000); `trained` is the model's own families and ranges."""
    sets = {"held-out": (dataclasses.replace(cfg, families=list(HELDOUT), **HELD_OUT_RANGES), HELDOUT),
            "trained": (cfg, data.FAMILIES)}
    return {k: v for k, v in sets.items() if which in (k, "both")}


def score_groups(denoise: Callable[[np.ndarray], np.ndarray], clean: np.ndarray, noisy: np.ndarray,
                 groups: dict[str, np.ndarray], rate: float) -> dict[str, dict[str, Any]]:
    """score_windows for several groups of the same windows (each filter tuned per group)."""
    y = denoise(noisy)
    base = evaluate.best_baselines_by_group(clean, noisy, groups, rate)
    out = {}
    for g, mask in groups.items():
        b = base[g]
        best = max(b, key=lambda k: b[k]["snr_gain_db"])
        model = evaluate.compare(clean[mask], noisy[mask], y[mask])
        out[g] = {"model": model, "baselines": b, "best_baseline": best,
                  "margin_db": model["snr_gain_db"] - b[best]["snr_gain_db"]}
    return out


def synthetic_eval(runner: Any, cfg: TrainConfig, snrs: list[float], n: int, kinds: list[str], which: str,
                   fixed_level: bool, rng: np.random.Generator, out: Path,
                   recorded: Recorded | None = None) -> dict[str, Any]:
    """Every set x noise kind x SNR: the model against the tuned filters, overall and per family; a PNG
    per set and kind."""
    result: dict[str, Any] = {}
    for set_name, (set_cfg, table) in synthetic_sets(cfg, which).items():
        clean, label = data.labelled_clean(set_cfg, n, rng, table)
        groups = {"all": np.ones(n, bool), **{f: label == i for i, f in enumerate(set_cfg.families)}}
        result[set_name] = {"families": set_cfg.families, "kinds": {}}
        for kind in kinds:
            rows: dict[str, Any] = {}
            shown: tuple[np.ndarray, ...] | None = None
            rec = recorded if kind == "file" else None
            ks = ["white"] if kind == "file" else [kind]
            for snr in snrs:
                if fixed_level:
                    noisy = add_noise_at_level(clean, ks, rng, cfg.rate, snr, rec)
                else:
                    noisy = add_noise(clean, cfg, rng, snr, ks, rec)
                r = score_groups(runner.denoise, clean, noisy, groups, cfg.rate)
                rows[str(snr)] = {**r["all"], "families": {f: r[f] for f in set_cfg.families}}
                if shown is None or snr == 10:
                    best = r["all"]["best_baseline"]
                    pick = np.concatenate([np.flatnonzero(label == i)[:1] for i in range(len(set_cfg.families))])
                    shown = (clean[pick], noisy[pick], runner.denoise(noisy[pick]), evaluate.best_estimate(
                        noisy[pick], best, r["all"]["baselines"][best]["setting"], cfg.rate), np.array([snr]))
            result[set_name]["kinds"][kind] = rows
            plot_kind(out / f"eval-{set_name}-{kind}.png", f"{set_name} families, {kind} noise", rows,
                      shown, [set_cfg.families[i] for i in range(len(set_cfg.families))])
    return result


def run_eval(model_path: str | Path, snrs: list[float], n: int = 2000, clean_path: str | None = None,
             pairs: tuple[str, str] | None = None, out_dir: str | Path = "eval-out",
             say: Callable[[str], None] = print, kinds: list[str] | None = None, families: str = "both",
             fixed_level: bool = False, noise_file: str | None = None, column: str = "",
             engine: str = "graph", seed: int | None = None, tail: float | None = None) -> dict[str, Any]:
    """Score a model file; see the module docstring for the sources. Writes eval.json and PNGs to out_dir."""
    from hush.runtime.runner import Runner

    if tail is not None and (clean_path is None or not 0 < tail < 1):
        raise InputError(f"--tail {tail}: expected a fraction between 0 and 1 of a --clean recording's end"
                         if clean_path else "--tail needs --clean (it is the part of that recording scored)")

    meta = modelfile.read_meta(model_path)
    runner = Runner.load(model_path, max_batch=256, engine=engine)
    cfg = _train_config(meta)
    if cfg.noise == ["seed"]:
        cfg = dataclasses.replace(cfg, noise=["white"])  # the tutorial's noise has no SNR to set
    # By default, windows and noise the trainer never drew; one seed for several models scores them alike.
    seed = cfg.seed + 10_007 if seed is None else seed
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"model": meta["id"], "engine": engine, "seed": seed,
                              "trained_on": {"families": cfg.families, "noise": cfg.noise,
                                             "snr_db": [cfg.snr_db_min, cfg.snr_db_max]}}
    recorded = None
    if noise_file:  # its held-out tail, as `hush train --noise-file` left it
        recorded = Recorded(load_samples(noise_file, cfg.noise_column if noise_file == cfg.noise_file else ""),
                            cfg.window, cfg.test_fraction, "test", noise_file)
        result["noise_file"] = noise_file
    if pairs or clean_path:
        return recording_eval(runner, cfg, snrs, clean_path, pairs, out, say, rng, result, column,
                              recorded, tail)
    kinds = kinds or (["file"] if recorded else [k for k in KINDS])
    result["source"] = {"kind": "synthetic", "windows": n, "noise": kinds, "rate_hz": cfg.rate,
                        "noise_level": FIXED_LEVEL if fixed_level else "per window"}
    result["sets"] = synthetic_eval(runner, cfg, snrs, n, kinds, families, fixed_level, rng, out, recorded)
    say(synthetic_tables(result))
    (out / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
    say(f"wrote {out / 'eval.json'} and {len(list(out.glob('eval-*.png')))} pictures in {out}/")
    return result


def recording_eval(runner: Any, cfg: TrainConfig, snrs: list[float],
                   clean_path: str | None, pairs: tuple[str, str] | None, out: Path,
                   say: Callable[[str], None], rng: np.random.Generator, result: dict[str, Any], column: str = "",
                   recorded: Recorded | None = None, tail: float | None = None) -> dict[str, Any]:
    """`--pairs` or `--clean`: one table by SNR, the seams of a stream, eval.json and eval.png. `--clean`
    scores the recording's last `tail` (default: the model's test_fraction, what its training held out)."""
    result["by_snr"] = {}
    examples: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    noise_kinds = ["white"] if cfg.noise == ["mix"] else cfg.noise
    if pairs:
        c, z = _load_array(pairs[0], cfg.window), _load_array(pairs[1], cfg.window)
        if c.shape != z.shape or c.shape[1] != cfg.window:
            raise InputError(f"pairs must be matching (n, {cfg.window}) arrays, got {c.shape} and {z.shape}")
        result["source"] = {"kind": "pairs", "clean": pairs[0], "noisy": pairs[1], "windows": len(c)}
        result["by_snr"]["given"] = score_windows(runner.denoise, c, z, cfg.rate)
        examples = (c, z, runner.denoise(z[:4]))
    else:
        assert clean_path is not None
        x = load_samples(clean_path, column)
        end = x[int(round(x.size * (1 - (tail or cfg.test_fraction)))):]
        if end.size < cfg.window:
            raise InputError(f"{clean_path}: its scored end ({end.size} samples) is shorter than a window "
                             f"({cfg.window} samples): give a larger --tail")
        clean = cut_windows(end, cfg.window, cfg.window // 2)
        result["source"] = {"kind": "recording", "path": clean_path, "held_out_samples": int(end.size),
                            "windows": len(clean), "noise": ["file"] if recorded else noise_kinds}
        for snr in snrs:
            noisy = add_noise(clean, cfg, rng, snr, noise_kinds, recorded)
            result["by_snr"][str(snr)] = score_windows(runner.denoise, clean, noisy, cfg.rate)
            if examples is None or snr == 10:
                examples = (clean[:4], noisy[:4], runner.denoise(noisy[:4]))
        result["stream"] = stream_seams(runner.denoise, end, cfg, 10.0, rng, noise_kinds, recorded)
    say(table(result))
    (out / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(out / "eval.png", result, examples)
    say(f"wrote {out / 'eval.json'} and {out / 'eval.png'}")
    return result


def _gain_row(label: str, r: dict[str, Any]) -> str:
    b = r["baselines"]
    cells = "".join(f"{b[k]['snr_gain_db']:>+9.2f}" if k in b else f"{'-':>9}" for k in TABLE_NAMES)
    m = r["model"]
    return f"{label:>10}{m['snr_gain_db']:>+9.2f}{cells}{r['margin_db']:>+9.2f}  {m['snr_out_db']:>8.2f}"


def _total_lines(kind: str, rows: dict[str, Any], families: list[str]) -> list[str]:
    """With one noise level for every window: the model's gain over all windows together, as over one
    recording, where the loudest windows weigh most (a mean over windows can rise while it falls); overall
    and per family. The filters are left out: they were tuned for the mean over windows."""
    lines = [f"{kind} noise, the model over all windows together (as over one recording):",
             f"{'input SNR':>10}{'SNR in':>9}{'gain':>9}{'SNR out':>9}"]
    lines += [f"{snr:>10}{r['model']['snr_total_in_db']:>9.2f}{r['model']['snr_total_gain_db']:>+9.2f}"
              f"{r['model']['snr_total_out_db']:>9.2f}" for snr, r in rows.items()]
    lines.append(f"{kind} noise, the model's gain over all windows of each family:")
    return lines + [f"  {f:<12}" + "".join(f"{r['families'][f]['model']['snr_total_gain_db']:>+9.2f}"
                                            for r in rows.values()) for f in families]


def _gain_header() -> str:
    return (f"{'input SNR':>10}{'model':>9}" + "".join(f"{v:>9}" for v in TABLE_NAMES.values())
            + f"{'margin':>9}  {'SNR out':>8}")


def synthetic_tables(result: dict[str, Any]) -> str:
    """Per set: margin by kind and SNR, the white and mix tables in full, margins per family; with one noise
    level for every window, the model's gain over all windows together too."""
    src = result["source"]
    lines = [f"model {result['model']}; {src['windows']} windows per set; noise level {src['noise_level']}; "
             "SNR gain in dB, mean over windows; margin = model gain - best filter's, each filter tuned on the "
             "very windows scored (an oracle)"]
    for set_name, s in result["sets"].items():
        kinds = s["kinds"]
        snrs = list(next(iter(kinds.values())))
        lines += ["", f"[{set_name}] families: {', '.join(s['families'])}",
                  f"{'margin':<10}" + "".join(f"{k + ' dB':>9}" for k in snrs) + "   out-in at the highest SNR"]
        for kind, rows in kinds.items():
            top = rows[snrs[-1]]["model"]
            lines.append(f"{kind:<10}" + "".join(f"{rows[k]['margin_db']:>+9.2f}" for k in snrs)
                         + f"   {top['snr_gain_db']:>+6.2f}")
        for kind in ("white", "mix"):
            if kind in kinds:
                lines += [f"{kind} noise, gains:", _gain_header()]
                lines += [_gain_row(snr, r) for snr, r in kinds[kind].items()]
                lines.append(f"{kind} noise, margin per family:")
                lines += [f"  {f:<12}" + "".join(f"{kinds[kind][k]['families'][f]['margin_db']:>+9.2f}"
                                                  for k in snrs) for f in s["families"]]
                if src["noise_level"] == FIXED_LEVEL:
                    lines += _total_lines(kind, kinds[kind], s["families"])
    return "\n".join(lines)


def table(result: dict[str, Any]) -> str:
    lines = [f"model {result['model']} on {result['source']['kind']} windows ({result['source']['windows']}); "
             "SNR gain in dB, mean over windows", _gain_header()]
    lines += [_gain_row(snr, r) for snr, r in result["by_snr"].items()]
    lines.append("margin: model gain minus the best baseline's, each baseline tuned on these windows")
    blind = [(snr, r) for snr, r in result["by_snr"].items() if "blind" in r]
    if blind:
        lines.append("without a clean reference (low-pass filters set by the noise level estimated from the noisy "
                     "windows):")
        for snr, r in blind:
            cells = ", ".join(f"{k} {v['setting']} {v['snr_gain_db']:+.2f}" for k, v in r["blind"].items())
            lines.append(f"{snr:>10}: {cells}; model {r['model']['snr_gain_db']:+.2f}, margin over the best of "
                         f"them {r['blind_margin_db']:+.2f}")
    if "stream" in result:
        s = result["stream"]
        lines.append(f"stream at {s['snr_db']:g} dB, RMSE (input's units): noisy {s['rmse_noisy']:.4g}; window by "
                     f"window {s['rmse_plain']:.4g} (edges {s['rmse_plain_edges']:.4g}, middle "
                     f"{s['rmse_plain_middle']:.4g}); stitched {s['rmse_stitched']:.4g} (edges "
                     f"{s['rmse_stitched_edges']:.4g}, middle {s['rmse_stitched_middle']:.4g})")
    return "\n".join(lines)


def plot_kind(path: Path, title: str, rows: dict[str, Any], shown: tuple[np.ndarray, ...] | None,
              names: list[str]) -> None:
    """Gain against input SNR for the model and every filter, and a few windows (noisy, clean, model, the
    best filter) at 10 dB."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(14, 7))
    ax = fig.add_subplot(1, 3, 1)
    x = [float(k) for k in rows]
    ax.plot(x, [r["model"]["snr_gain_db"] for r in rows.values()], "o-", lw=2, label="hush model")
    for name in TABLE_NAMES:
        ax.plot(x, [r["baselines"][name]["snr_gain_db"] if name in r["baselines"] else np.nan
                    for r in rows.values()], ".--", label=name)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set(xlabel="input SNR, dB", ylabel="SNR gain, dB", title=title)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    if shown is not None:
        c, z, y, b, snr = shown
        k = min(4, len(c))
        for i in range(k):
            a = fig.add_subplot(k, 3, (3 * i + 2, 3 * i + 3))
            a.plot(z[i], color="0.75", lw=0.8, label="noisy")
            a.plot(c[i], color="tab:green", lw=1.4, label="clean")
            a.plot(b[i], color="tab:orange", lw=1.0, label="best filter")
            a.plot(y[i], color="tab:blue", lw=1.0, label="model")
            a.set_title(f"{names[i]} at {snr[0]:g} dB", fontsize=8)
            if i == 0:
                a.legend(fontsize=7, ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


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
