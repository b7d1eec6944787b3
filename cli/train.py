"""`hush train`, `hush eval` and `hush ensemble`: the trainer's commands."""

from __future__ import annotations

import argparse

from hush import config as hconfig
from hush.cli.base import command, configured, say, settings


def run_train(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.trainer.train import PRESETS, train

    tc = cfg.train
    preset = args.preset or tc.preset
    if preset != tc.preset or PRESETS[preset]:
        tc = hconfig.build_section(hconfig.TrainConfig, {"preset": preset, **PRESETS[preset]},
                                   f"preset {preset!r}", base=tc)
    tc = configured(args, cfg, "train", base=tc)
    init = None if args.init == "none" else args.init
    if args.noisy and args.init is None:
        init = _shipped_if_it_fits(tc)
    try:
        train(tc, clean_path=args.clean, noisy_path=args.noisy, pairs=tuple(args.pairs) if args.pairs else None,
              init=init, say=_line)
    except KeyboardInterrupt:
        say(f"interrupted: {tc.out} was not written" + (f"; the last finished epoch is saved in {tc.checkpoint_dir}:"
                                                         " the same command resumes from it" if tc.checkpoint_dir
                                                         else " (--checkpoint-dir keeps finished epochs to resume)"))
        return 130
    return 0


def _line(text: str) -> None:
    """Progress and the report go to stdout a line at a time: `hush train | tee run.log` shows each epoch as
    it ends, not when a pipe's buffer fills."""
    print(text, flush=True)


def _shipped_if_it_fits(tc: hconfig.TrainConfig) -> str | None:
    """`--noisy` starts from the shipped default model (what a recording without a clean reference teaches
    best is the difference from it: docs/quality.md), when its window and scaling are this run's."""
    from hush import modelfile
    from hush.paths import DEFAULT_MODEL

    meta = modelfile.read_meta(DEFAULT_MODEL)
    if (meta["window"], meta["scaling"]) != (tc.window, tc.scaling):
        say(f"--noisy: starting from random weights (the shipped model's window and scaling are {meta['window']}, "
            f"{meta['scaling']}; this run's {tc.window}, {tc.scaling})")
        return None
    return str(DEFAULT_MODEL)  # the run's "model:" line says "fine-tuning <its id>"


@command("train", "train a denoising model and write one self-contained .keras file",
         "hush train --out models/default.keras\n  hush train --preset seed --out seed.keras\n"
         "  hush train --clean my_sensor.npy --out my_sensor.keras\n"
         "  hush train --noisy sensor.csv --column vibration --out mine.keras      # no clean reference\n"
         "  hush train --clean ten_minutes.npy --init models/default.keras --out mine.keras", run_train)
def _train(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", choices=("default", "seed"), help="recipe: 'seed' is the tutorial exactly")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--clean", metavar="FILE", help="train on your own clean recording (.npy or .csv column)")
    source.add_argument("--noisy", metavar="FILE", help="train on a noisy recording alone (self-supervised: "
                        "removes noise that is independent from sample to sample)")
    source.add_argument("--pairs", nargs=2, metavar=("NOISY", "CLEAN"),
                        help="train on a noisy recording and an aligned clean reference of the same signal")
    p.add_argument("--init", metavar="MODEL", help="fine-tune this Hush model (e.g. models/default.keras) "
                   "instead of starting from random weights; its window and scaling are kept. With --noisy the "
                   "shipped default model is the start unless this says otherwise ('none': random weights)")
    settings(p, "train", "out", "column", "noise", "noise_file", "noise_column", "augment", "epochs", "max_minutes",
             "n_windows", "batch_size", "window", "seed", "checkpoint_dir", "tensorboard_dir")


def run_eval(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.paths import DEFAULT_MODEL
    from hush.trainer.scorecard import run_eval as evaluate

    evaluate(args.model or DEFAULT_MODEL, args.snr, args.windows, args.clean,
             tuple(args.pairs) if args.pairs else None, args.out_dir, kinds=args.noise, families=args.families,
             fixed_level=args.fixed_level, noise_file=args.noise_file, column=args.column or "", engine=args.engine,
             seed=args.seed, tail=args.tail)
    return 0


@command("eval", "score a model (RMSE, SNR gain, PRD) against classical filters tuned on the same windows",
         "hush eval models/default.keras --snr 0 10 20 30\n"
         "  hush eval --noise white hum spikes --families held-out --fixed-level\n"
         "  hush eval ecg.keras --clean data/ecg_mitbih208.npy\n  hush eval mine.keras --pairs clean.npy noisy.npy",
         run_eval)
def _eval(p: argparse.ArgumentParser) -> None:
    from hush.trainer.noise import KINDS

    p.add_argument("model", nargs="?", help="model file (default: the shipped default model)")
    p.add_argument("--snr", type=float, nargs="+", default=[0.0, 10.0, 20.0, 30.0], help="input SNRs, dB")
    p.add_argument("--windows", type=int, default=2000, help="synthetic windows per set, kind and SNR")
    p.add_argument("--noise", nargs="+", choices=[*KINDS, "file"], metavar="KIND",
                   help=f"noise kinds to score, one table each (default: all of {', '.join(KINDS)})")
    p.add_argument("--families", choices=("held-out", "trained", "both"), default="both",
                   help="synthetic windows from families no model trained on, the model's own, or both")
    p.add_argument("--noise-file", metavar="FILE", help="your sensor's noise recorded alone: its last "
                   "test_fraction is cut into segments and added at each SNR (the 'file' table)")
    p.add_argument("--column", help="--clean file's CSV column (a header name or 0-based index)")
    p.add_argument("--fixed-level", action="store_true",
                   help="one noise power for all windows (set by --snr over all of them) while amplitudes vary; "
                   "the tables add the gain over all windows together, as over one recording")
    p.add_argument("--clean", metavar="FILE", help="score on the held-out tail of this clean recording")
    p.add_argument("--tail", type=float, metavar="FRACTION", help="with --clean: the part of the recording's end "
                   "scored (default: the model's test_fraction, the part its training held out); give it to score "
                   "models trained on other parts or files of one recording on the same samples")
    p.add_argument("--pairs", nargs=2, metavar=("CLEAN", "NOISY"), help="score on your own clean/noisy pairs")
    p.add_argument("--out-dir", default="eval-out", help="where eval.json and eval.png go")
    p.add_argument("--seed", type=int, help="seed of the windows and noise scored (default: the model's training "
                   "seed + 10007, a draw its training never used); the same seed scores several models alike")
    p.add_argument("--engine", default="graph", choices=("graph", "lite", "xla", "int8", "bf16"),
                   help="what runs the model (as `hush serve --engine`): compare a reduced-precision engine's "
                        "scores with float32's (graph)")


def run_ensemble(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.trainer.ensemble import AUGMENTS, unseen_views, write

    meta = write(args.model, args.out, args.views)
    say(f"wrote {args.out} (id {meta['id']}): {args.model} averaged over {' and '.join(meta['self_ensemble'])} "
        f"views, {2 ** len(meta['self_ensemble'])} times its arithmetic per window")
    if unseen := unseen_views(meta, meta["self_ensemble"]):
        say(f"warning: {args.model} was trained on a recording without --augment "
            f"{' '.join(AUGMENTS[v] for v in unseen)}: its {' and '.join(unseen)} views are signals it never saw, "
            f"and averaging over them can lower its quality (docs/quality.md, Self-ensembles): compare both with "
            f"`hush eval --clean`")
    return 0


@command("ensemble", "write a model that averages another's answers over the window's sign and time reversal",
         "hush ensemble models/default.keras --views sign time --out default-x4.keras\n"
         "  hush bench --models models/default.keras default-x4.keras      # what it costs here", run_ensemble)
def _ensemble(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a Hush model file")
    p.add_argument("--views", nargs="+", choices=("sign", "time"), default=["sign", "time"],
                   help="views averaged: sign (x and -x), time (x and x reversed); both by default (4 calls)")
    p.add_argument("--out", required=True, help="the model file to write")
