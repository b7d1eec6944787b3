"""`hush train`: make data, fit the network, score it honestly, write one self-contained model file.

Reads top to bottom: seeds, data, split, scaling, network, fit, score, save, report. `train(cfg)` is the
whole run; the CLI only builds `cfg` (defaults <- config.toml <- preset <- flags) and calls it.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hush import modelfile, scaling
from hush.config import TrainConfig
from hush.errors import InputError
from hush.runtime.tfenv import tensorflow
from hush.samples import SampleError, cut_windows, load_samples
from hush.trainer import data, evaluate
from hush.trainer.ctrl_c import CtrlC
from hush.trainer.heap import heap_kept
from hush.trainer.model import build, loss_for
from hush.trainer.noise import Recorded, add_noise, split
from hush.trainer.selfsup import blind_spot, recorrupt, recorrupted_batches, shuffled_batches

# What `--preset seed` sets: the tutorial's recipe exactly (../shared/SEED.md). It wins over config.toml;
# command-line flags win over it.
PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "seed": dict(families=["seed_parabola"], n_windows=100_000, noise=["seed"], noise_factor=0.05,
                 architecture="seed", scaling="minmax", loss="bce", epochs=5, batch_size=150,
                 learning_rate=0.001, test_fraction=0.3, val_fraction=0.2, patience=0),
}

Say = Callable[[str], None]
PARTS = ("train", "val", "test")


def recorded_noise(cfg: TrainConfig) -> dict[str, Recorded | None]:
    """The noise recording's parts for train, val and test, if any: split in time as a recording is."""
    if not cfg.noise_file:
        return {"train": None, "val": None, "test": None}
    x = load_samples(cfg.noise_file, cfg.noise_column)
    return {p: Recorded(x, cfg.window, cfg.test_fraction, p, cfg.noise_file, cfg.val_fraction) for p in PARTS}


def make_windows(cfg: TrainConfig, rng: np.random.Generator, say: Say, clean_path: str | Path | None = None,
                 noisy_path: str | Path | None = None, pairs: tuple[str, str] | None = None
                 ) -> tuple[dict[str, np.ndarray] | None, dict[str, np.ndarray], dict[str, Any]]:
    """Clean and noisy windows for train, val and test, and a description of where they came from. Clean is
    None with `noisy_path`: a noisy recording alone has no truth."""
    source: dict[str, Any]
    path: str | Path
    recorded = recorded_noise(cfg)
    noise_desc = {"noise": cfg.noise, "noise_file": cfg.noise_file or None,
                  "noise_file_share": cfg.noise_file_share if cfg.noise_file else None}
    if clean_path is None and noisy_path is None and pairs is None:
        t0 = time.perf_counter()
        clean_all = data.synthetic_clean(cfg, cfg.n_windows, rng)
        cuts = split(cfg.n_windows, cfg.test_fraction, cfg.val_fraction)
        clean = {p: clean_all[c] for p, c in zip(PARTS, cuts, strict=True)}
        noisy = {p: add_noise(clean[p], cfg, rng, recorded=recorded[p], share=cfg.noise_file_share) for p in PARTS}
        say(f"data: {cfg.n_windows} synthetic windows of {cfg.window} ({', '.join(cfg.families)}) "
            f"in {time.perf_counter() - t0:.1f} s")
        return clean, noisy, {"kind": "synthetic", "families": cfg.families, "n_windows": cfg.n_windows,
                              **noise_desc}
    if pairs is not None:
        x, given = load_samples(pairs[1], cfg.column), load_samples(pairs[0], cfg.column)
        if x.size != given.size:
            raise SampleError(f"--pairs: {pairs[0]} has {given.size} samples and {pairs[1]} {x.size}: a pair is "
                              "two aligned recordings of the same length")
        path, source = pairs[1], {"kind": "pairs", "noisy": str(pairs[0]), "clean": str(pairs[1])}
    else:
        path = clean_path if clean_path is not None else noisy_path  # type: ignore[assignment]
        x, given = load_samples(path, cfg.column), None
        source = {"kind": "recording" if clean_path is not None else "noisy recording", "path": str(path),
                  **({**noise_desc, "augment": cfg.augment} if clean_path is not None else {})}
    if cfg.augment and clean_path is None:
        say(f"augment ({', '.join(cfg.augment)}): not used with --{'pairs' if pairs else 'noisy'} (the noise is in "
            "the recording, and resampling it would change its spectrum)")
    cuts = _recording_cuts(cfg, x, path)
    clean, noisy = _recording_windows(cfg, x, given, cuts, clean_path is not None, recorded, rng)
    perm = rng.permutation(len(clean["train"]))
    clean["train"], noisy["train"] = clean["train"][perm], noisy["train"][perm]
    copies_said = f", {cfg.clean_copies} noisy copies" if clean_path is not None else ""
    if clean_path is not None and cfg.augment:
        copies_said += f", augmented: {', '.join(cfg.augment)}"
    say(f"data: {x.size} samples from {path}; windows train {len(clean['train'])} (hop {cfg.clean_hop}"
        f"{copies_said}), val {len(clean['val'])}, test {len(clean['test'])} (the last {cfg.test_fraction:.0%} "
        "of the recording)")
    source.update(samples=int(x.size), windows={p: len(clean[p]) for p in PARTS})
    return (None if noisy_path is not None else clean), noisy, source


def _recording_cuts(cfg: TrainConfig, x: np.ndarray, path: str | Path) -> tuple[slice, slice, slice]:
    """A recording is split by time, before windows are cut, so no test sample was ever seen in training
    (overlapping windows across the cut would leak it). Each part must hold a window."""
    cuts = split(x.size, cfg.test_fraction, cfg.val_fraction)
    short = [f"{part} {x[cut].size}" for part, cut in zip(PARTS, cuts, strict=True) if x[cut].size < cfg.window]
    if short and x.size >= cfg.window:  # (shorter than a window overall: cut_windows says so)
        raise SampleError(f"{path}: {x.size} samples leave too few for one window of {cfg.window} in a part "
                          f"(samples: {', '.join(short)}; test_fraction {cfg.test_fraction:g}, val_fraction "
                          f"{cfg.val_fraction:g}): use a longer recording or give that part a larger share")
    return cuts


def _recording_windows(cfg: TrainConfig, x: np.ndarray, given: np.ndarray | None, cuts: tuple[slice, ...],
                       add: bool, recorded: dict[str, Recorded | None], rng: np.random.Generator
                       ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Clean and noisy windows of each part of a recording `x`: with `add` (--clean) noise is added to
    `clean_copies` copies of each (augmented) window; otherwise the noise is in the data (`given`, the noisy
    half of --pairs, or `x` itself with --noisy)."""
    clean, noisy = {}, {}
    for part, cut in zip(PARTS, cuts, strict=True):
        # With --clean, validation windows overlap and get noisy copies as training's do: a few seconds of
        # recording at half-window hops are a few dozen windows, too few to tell one epoch from the next.
        dense = part == "train" or (part == "val" and add)
        hop = cfg.clean_hop if dense else cfg.window // 2
        w = cut_windows(x[cut], cfg.window, hop)
        if not add:  # the noise is in the data: one copy of each window
            clean[part] = w
            noisy[part] = w if given is None else cut_windows(given[cut], cfg.window, hop)
            continue
        if part == "train" and cfg.augment:
            w = augmented(x[cut], w, cfg)
        copies = cfg.clean_copies if part != "test" else 1
        clean[part] = np.repeat(w, copies, axis=0)
        noisy[part] = add_noise(clean[part], cfg, rng, recorded=recorded[part], share=cfg.noise_file_share)
    return clean, noisy


STRETCH = ((4, 5), (9, 10), (11, 10), (5, 4))  # (up, down): the signal 1.25, 1.11, 0.91 and 0.8 times as fast


def augmented(x: np.ndarray, w: np.ndarray, cfg: TrainConfig) -> np.ndarray:
    """`w` (windows cut from the clean training part `x`) with the windows that `cfg.augment` adds: `x`
    resampled at each STRETCH rate (polyphase, low-pass filtered, so a faster copy does not alias), and the
    sign- and time-reversed copies of all of them. Only clean signal is transformed; noise is added after,
    so it keeps its own spectrum."""
    from scipy.signal import resample_poly

    parts = [w]
    if "stretch" in cfg.augment:
        for up, down in STRETCH:
            y = resample_poly(x, up, down, padtype="line")
            if y.size >= cfg.window:
                parts.append(cut_windows(y, cfg.window, cfg.clean_hop))
    out = np.concatenate(parts)
    if "flip" in cfg.augment:
        out = np.concatenate([out, -out])
    if "reverse" in cfg.augment:
        out = np.concatenate([out, out[:, ::-1]])
    return np.ascontiguousarray(out)


def targets(cfg: TrainConfig, clean: np.ndarray, noisy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scaled input and target. The target uses the noisy window's scaling (the daemon can undo it
    exactly), except in the seed preset, which scales the target by the clean window's own range."""
    z_in, state = scaling.forward(noisy, cfg.scaling)
    if cfg.scaling == "minmax":
        z_out, _ = scaling.forward(clean, "minmax")
    else:
        centre, scale = state
        z_out = ((clean - centre) / scale).astype(np.float32)
    return z_in, z_out


class Progress:
    """A Keras callback that prints a line every ~10 s within an epoch and one at its end, with the time the
    epochs left may take; with a time budget (`max_minutes`, from `started`), it stops the run before an epoch
    that would end past it, judged by the slowest epoch so far (early stopping then restores the best)."""

    def __init__(self, say: Say, steps: int, epochs: int = 0, budget_s: float = 0.0, started: float = 0.0,
                 every_s: float = 10.0):
        import keras

        class _CB(keras.callbacks.Callback):
            slowest, done = 0.0, 0

            def on_train_begin(cb, logs: Any = None) -> None:
                cb.fit_t0 = time.perf_counter()

            def on_epoch_begin(cb, epoch: int, logs: Any = None) -> None:
                cb.t0 = cb.last = time.perf_counter()
                cb.epoch = epoch

            def on_train_batch_end(cb, batch: int, logs: Any = None) -> None:
                now = time.perf_counter()
                if now - cb.last >= every_s:
                    cb.last = now
                    say(f"  epoch {cb.epoch + 1}: step {batch + 1}/{steps}, loss {logs['loss']:.5f}")

            def on_epoch_end(cb, epoch: int, logs: Any = None) -> None:
                logs, now = logs or {}, time.perf_counter()
                cb.slowest, cb.done = max(cb.slowest, now - cb.t0), cb.done + 1
                val = f", val_loss {logs['val_loss']:.5f}" if "val_loss" in logs else ""
                rest = (epochs - epoch - 1) * (now - cb.fit_t0) / cb.done
                left = f"; {rest / 60:.0f} min" if rest >= 90 else f"; {rest:.0f} s"
                left = f"{left} left at most" if epochs > epoch + 1 else ""
                say(f"epoch {epoch + 1}: loss {logs.get('loss', float('nan')):.5f}{val} ({now - cb.t0:.0f} s{left})")
                if budget_s and epochs > epoch + 1 and now - started + cb.slowest > budget_s:
                    cb.model.stop_training = True
                    say(f"time budget: stopping after epoch {epoch + 1}, {(now - started) / 60:.1f} of "
                        f"{budget_s / 60:g} minutes spent (max_minutes); another epoch would pass it")

        self.callback = _CB()


def safe_backup(keras: Any, directory: str, say: Say) -> Any:
    """Keras's BackupAndRestore, keeping the previous epoch's state too (a run killed while saving falls
    back to it), and starting over, with a warning, when even that is unreadable. Model weights and the
    epoch are restored; Adam's moments start afresh."""

    class SafeBackup(keras.callbacks.BackupAndRestore):  # type: ignore[misc]
        def on_train_begin(self, logs: Any = None) -> None:
            try:
                super().on_train_begin(logs)
            except (OSError, ValueError) as exc:  # ValueError: metadata JSON cut short by a kill mid-write
                if not self._restore_previous():
                    import shutil

                    say(f"checkpoint in {directory} unreadable ({exc}); starting over")
                    shutil.rmtree(directory, ignore_errors=True)
                    self.model._initial_epoch = 0
            if getattr(self.model, "_initial_epoch", 0):
                say(f"resuming from the checkpoint in {directory}: epoch {self.model._initial_epoch + 1}")

        def _restore_previous(self) -> bool:
            """The epoch before the unreadable one, when both its files are there and readable."""
            import shutil

            prev = (self._prev_weights_path, self._prev_training_metadata_path)
            if not all(Path(p).exists() for p in prev):
                return False
            shutil.copy(prev[0], self._weights_path)
            shutil.copy(prev[1], self._training_metadata_path)
            try:
                self._load_model()
            except (OSError, ValueError):
                return False
            return True

    return SafeBackup(directory, double_checkpoint=True)


def start_from(cfg: TrainConfig, init: str | Path | None, keras: Any) -> tuple[Any, dict[str, Any] | None]:
    """The network: built as configured, or an existing Hush model to fine-tune, whose window and scaling
    must be this run's."""
    if init is None:
        return build(cfg), None
    from hush import modelfile

    meta = modelfile.read_meta(init)
    for key in ("window", "scaling"):
        if meta[key] != getattr(cfg, key):
            raise modelfile.ModelFileError(f"--init {init}: the model's {key} is {meta[key]!r}, this run's is "
                                           f"{getattr(cfg, key)!r}; set {key} to match, or train from scratch")
    model = keras.models.load_model(init, compile=False)
    if cfg.init_shrink < 1:  # shrink and perturb (Ash & Adams 2020): a fresh network's start, the old as a lead
        fresh = keras.models.clone_model(model).get_weights()  # the same layers, newly initialised (seeded)
        model.set_weights([cfg.init_shrink * w + 0.1 * f for w, f in zip(model.get_weights(), fresh, strict=True)])
    return model, {"path": str(init), "id": meta["id"], "shrink": cfg.init_shrink}


def fit_arrays(cfg: TrainConfig, clean: dict[str, np.ndarray] | None, noisy: dict[str, np.ndarray],
               rng: np.random.Generator, fresh: bool = False) -> dict[str, tuple[Any, ...]]:
    """(input, target[, per-sample weight]) in scaled coordinates for train, val and test. Without clean
    windows, the noisy ones make their own targets (trainer/selfsup.py); recorrupted training pairs are a
    Keras dataset, (dataset,), that draws them afresh per batch; so are supervised ones with `fresh`."""
    if clean is None:
        scaled = {p: scaling.forward(noisy[p], cfg.scaling) for p in noisy}
        z = {p: v[0] for p, v in scaled.items()}
        if cfg.self_supervision == "blind-spot":
            return {"train": blind_spot(z["train"], rng, copies=cfg.clean_copies),
                    "val": blind_spot(z["val"], rng), "test": (z["test"], z["test"])}
        # The recording's noise level in each window's scaled units: one level (the median of the windows'
        # estimates) in the input's units, divided by each window's scale. Training pairs are drawn afresh
        # per batch (fit() takes the dataset); validation pairs once.
        level = float(np.median(evaluate.noise_sigma(noisy["train"])))
        sigma = {p: (level / scaled[p][1][1]).astype(np.float32) for p in noisy}
        batches = recorrupted_batches(z["train"], sigma["train"], cfg.batch_size, cfg.clean_copies, cfg.seed)
        return {"train": (batches,), "val": recorrupt(z["val"], sigma["val"], rng), "test": (z["test"], z["test"])}
    arrays: dict[str, tuple[Any, ...]] = {p: targets(cfg, clean[p], noisy[p]) for p in noisy}
    if fresh:
        arrays["train"] = (fresh_noise_batches(cfg, clean["train"]),)
    return arrays


def fresh_noise_batches(cfg: TrainConfig, clean: np.ndarray) -> Any:
    """A Keras dataset of (scaled noisy, scaled clean) batches whose noise is drawn anew for every batch, as
    make_windows draws it (kinds, SNR range, the noise file's training part): a pass over a recording's
    windows is never the same twice."""
    recorded = recorded_noise(cfg)["train"]

    def make(pick: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        c = clean[pick]
        return targets(cfg, c, add_noise(c, cfg, rng, recorded=recorded, share=cfg.noise_file_share))

    return shuffled_batches(len(clean), cfg.batch_size, 1, cfg.seed + 1, make)


def callbacks_for(cfg: TrainConfig, keras: Any, say: Say, steps: int, has_val: bool,
                  scheduled: bool = False, started: float | None = None) -> list[Any]:
    """Progress lines and the time budget (from `started`, the run's start; now if None); with a validation
    set, the step size halved after half `patience` epochs without gain and early stopping after `patience`;
    checkpoints to resume from; TensorBoard."""
    started = time.perf_counter() if started is None else started
    callbacks = [Progress(say, steps, cfg.epochs, cfg.max_minutes * 60, started).callback, heap_kept(keras)]
    if cfg.checkpoint_dir:  # saved at every epoch's end (the trained weights); a run resumes there; removed when done
        callbacks.append(safe_backup(keras, cfg.checkpoint_dir, say))
    if cfg.weight_average and has_val:
        # The average is in the network while it is validated and at each epoch's end (where early stopping
        # keeps the best), the trained weights again while it trains.
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    if cfg.patience and has_val:
        # The snr loss is noisy from epoch to epoch at Adam's first step size (it weighs the nearly clean
        # windows, whose errors are small and jumpy): halving it settles what the network has learnt.
        if not scheduled:
            callbacks.append(keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=max(1, cfg.patience // 2),
                                                               min_lr=cfg.learning_rate / 32, verbose=0))
        callbacks.append(keras.callbacks.EarlyStopping(patience=cfg.patience, restore_best_weights=True))
    if cfg.tensorboard_dir:
        import importlib.util

        if importlib.util.find_spec("tensorboard") is None:  # TF 2.21 no longer installs it
            raise InputError("tensorboard_dir needs the tensorboard package: pip install 'hush[tensorboard]'")
        callbacks.append(keras.callbacks.TensorBoard(cfg.tensorboard_dir))
    return callbacks


def score_test(cfg: TrainConfig, runner: Any, test_clean: np.ndarray | None, test_noisy: np.ndarray,
               denoised: np.ndarray, arrays: dict[str, tuple[np.ndarray, ...]]) -> dict[str, Any]:
    """The test set's scores in the input's units beside the tuned filters; without truth, how much the
    model took away."""
    metrics: dict[str, Any] = {"test_windows": int(len(test_noisy))}
    if test_clean is None:
        removed = test_noisy - denoised
        metrics["removed_rms"] = float(np.sqrt(np.mean(removed**2)))
        metrics["input_rms_ac"] = float(np.sqrt(np.mean(test_noisy.var(axis=1))))
        return metrics
    metrics.update(evaluate.compare(test_clean, test_noisy, denoised))
    metrics["baselines"] = evaluate.best_baselines(test_clean, test_noisy, cfg.rate)
    if cfg.scaling == "minmax":
        # The tutorial's own numbers: in the [0, 1] scale of each clean window, and the BCE floor, the
        # mean binary entropy of the targets, below which no model's cross-entropy can go.
        z_in, z_out = arrays["test"][0], arrays["test"][1]
        metrics["seed_scale"] = evaluate.compare(z_out.astype(np.float64), z_in, runner.run_scaled(z_in))
        t = np.clip(arrays["val"][1] if len(arrays["val"][0]) else z_out, 1e-7, 1 - 1e-7).astype(np.float64)
        metrics["bce_floor"] = float(np.mean(-(t * np.log(t) + (1 - t) * np.log(1 - t))))
    return metrics


def train(cfg: TrainConfig, clean_path: str | Path | None = None, say: Say = print,
          noisy_path: str | Path | None = None, pairs: tuple[str, str] | None = None,
          init: str | Path | None = None) -> dict[str, Any]:
    """Run training as configured; write cfg.out and its report folder; return the model's metadata."""
    started = time.perf_counter()
    # 1. Seeds: data, split, weight init and shuffling all follow cfg.seed.
    tf = tensorflow()
    import keras

    keras.utils.set_random_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)

    # 2. Data, split and scaling.
    clean, noisy, source = make_windows(cfg, rng, say, clean_path, noisy_path, pairs)
    arrays = fit_arrays(cfg, clean, noisy, rng, fresh=cfg.fresh_noise and clean_path is not None)

    # 3. The network: new, or the one to fine-tune, compiled with its loss and step-size schedule.
    model, source["init"] = start_from(cfg, init, keras)
    loss, fixed_run = compile_for(cfg, model, arrays, supervised=clean is not None, fine_tune=bool(init),
                                  keras=keras)
    start = f", fine-tuning {source['init']['id']}" if init else ""
    say(f"model: {model.name}, {model.count_params():,} parameters, loss {loss}, scaling {cfg.scaling}{start}")

    # 4. Fit. Early stopping restores the best validation weights; without a validation set it is off.
    t_fit = time.perf_counter()
    history = fit(cfg, model, arrays, fixed_run, keras, say, started)
    fit_s = time.perf_counter() - t_fit
    has_val = len(arrays["val"][0]) > 0

    # 5. Score on the test set through the serving path (the daemon's Runner: scaling, compiled call,
    #    inverse), in the input's units, next to the classical filters tuned on the same windows.
    from hush.runtime.runner import Runner

    name = "seed" if cfg.preset == "seed" else (Path(cfg.out).stem or "model")
    meta: dict[str, Any] = {"name": name, "window": cfg.window, "scaling": cfg.scaling, "id": name}
    runner = Runner(model, meta, max_batch=256, tf=tf)
    test_clean, test_noisy = (clean["test"] if clean is not None else None), noisy["test"]
    denoised = runner.denoise(test_noisy)
    metrics = score_test(cfg, runner, test_clean, test_noisy, denoised, arrays)
    if has_val:
        metrics["val_loss"] = float(min(history.history["val_loss"]))
        metrics["val_loss_last"] = float(history.history["val_loss"][-1])
    metrics["fit_seconds"] = round(fit_s, 1)
    metrics["epochs_run"] = len(history.history["loss"])

    # 6. Save: the network, and everything the daemon needs to serve it, in one file.
    meta.update({
        "train_config": dataclasses.asdict(cfg), "data": source, "metrics": metrics,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "parameters": int(model.count_params()),
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__, "python": platform.python_version()},
    })
    meta = modelfile.write(model, cfg.out, meta)

    # 7. Report: a table, a JSON file and pictures (loss curve, examples), beside the model.
    report = Path(cfg.out).with_name(Path(cfg.out).stem + "-report")
    write_report(report, meta, source, history.history, loss, (test_clean, test_noisy, denoised), cfg, say)
    say(f"wrote {cfg.out} (id {meta['id']}) and {report}/ in {time.perf_counter() - started:.0f} s")
    return meta


def compile_for(cfg: TrainConfig, model: Any, arrays: dict[str, tuple[np.ndarray, ...]], supervised: bool,
                fine_tune: bool, keras: Any) -> tuple[str, bool]:
    """Compile `model` for the data it will see; (the loss's name, whether the step size follows a fixed
    schedule). Blind spots weigh the loss per sample; recorrupted targets are noisy, so the plain mean of
    squares (unbiased) is the loss, and a validation loss on them is noisy from one epoch to the next too: the
    step size falls as a cosine instead of on a plateau. Early stopping stays: a network that has seen a
    window often enough learns its recorded noise by heart (the target holds it too), and the validation loss
    rises then."""
    blind = not supervised and cfg.self_supervision == "blind-spot"
    loss = f"{cfg.loss} (blind spots)" if blind else cfg.loss
    if not supervised and not blind:
        loss = "mse (recorrupted)"
    fixed_run = not supervised and not blind
    step = cfg.init_learning_rate if fine_tune else cfg.learning_rate
    rate = (keras.optimizers.schedules.CosineDecay(step, _steps(cfg, arrays) * cfg.epochs, alpha=1 / 32)
            if fixed_run else step)
    # The average spans at most a tenth of the planned steps: a short run keeps its last steps, not its start.
    momentum = min(cfg.weight_average, 1 - 10 / max(20, _steps(cfg, arrays) * cfg.epochs))
    average = {"use_ema": True, "ema_momentum": momentum} if cfg.weight_average else {}
    model.compile(optimizer=keras.optimizers.Adam(rate, **average),
                  loss=loss_for("mse" if loss.startswith("mse") else cfg.loss, blind, cfg.loss_floor_db))
    return loss, fixed_run


def _steps(cfg: TrainConfig, arrays: dict[str, tuple[np.ndarray, ...]]) -> int:
    """Optimizer steps per epoch: a dataset of batches has its length; arrays are cut in batches."""
    n = len(arrays["train"][0])
    return n if len(arrays["train"]) == 1 else -(-n // cfg.batch_size)


def fit(cfg: TrainConfig, model: Any, arrays: dict[str, tuple[np.ndarray, ...]], fixed_run: bool, keras: Any,
        say: Say, started: float | None = None) -> Any:
    """model.fit on the training part, validated on the validation part (if any); its History."""
    has_val = len(arrays["val"][0]) > 0

    def keras_set(part: str) -> tuple[Any, ...]:
        """(input, target) with a channel axis; blind spots: the hidden-sample mask as the target's second
        channel (blind_snr_loss), or as per-sample weights for MSE; recorrupt: a dataset of fresh pairs."""
        a = arrays[part]
        if len(a) == 1:
            return a
        if len(a) == 3 and cfg.loss == "snr":
            return a[0][..., None], np.stack([a[1], a[2]], axis=-1)
        return (a[0][..., None], a[1][..., None], *a[2:])

    fit_set = keras_set("train")
    fit_args: dict[str, Any] = ({"x": fit_set[0]} if len(fit_set) == 1 else
                                {"x": fit_set[0], "y": fit_set[1], "sample_weight": fit_set[2] if len(fit_set) > 2
                                 else None, "batch_size": cfg.batch_size, "shuffle": True})
    stop = CtrlC(keras)
    with stop.noted():
        history = model.fit(**fit_args, epochs=cfg.epochs, verbose=0,
                            callbacks=[*callbacks_for(cfg, keras, say, _steps(cfg, arrays), has_val,
                                                      scheduled=fixed_run, started=started), stop.callback],
                            validation_data=keras_set("val") if has_val else None)
    stop.check()  # a Ctrl-C in the run's last moments
    return history


def write_report(report: Path, meta: dict[str, Any], source: dict[str, Any], history: dict[str, list[float]],
                 loss: str, test: tuple[np.ndarray | None, np.ndarray, np.ndarray], cfg: TrainConfig,
                 say: Say) -> None:
    """report.txt (the data used and the test table), metrics.json, loss.png and examples.png."""
    report.mkdir(parents=True, exist_ok=True)
    metrics = meta["metrics"]
    test_clean, test_noisy, denoised = test
    lines = [f"model {meta['id']}: {meta['parameters']:,} parameters, loss {loss}, "
             f"{metrics['epochs_run']} epochs in {metrics['fit_seconds']:.0f} s",
             "data: " + json.dumps(source)]
    if test_clean is not None:
        rows = [(f"hush model ({meta['name']})", metrics)] + list(metrics["baselines"].items())
        lines += [f"test ({len(test_clean)} windows, input's units):", evaluate.format_table(rows)]
    else:
        lines.append(f"test ({len(test_noisy)} windows): no clean truth to score against; the model takes away "
                     f"{metrics['removed_rms']:.4g} RMS of an input of {metrics['input_rms_ac']:.4g} (AC). "
                     "Score it with `hush eval --clean` or `--pairs` where you have a reference.")
    text = "\n".join(lines)
    (report / "report.txt").write_text(text + "\n")
    (report / "metrics.json").write_text(json.dumps({"id": meta["id"], "data": source, **metrics}, indent=2) + "\n")
    evaluate.plot_loss(report / "loss.png", history, f"{meta['id']}: training loss ({loss}, scaled units)")
    if cfg.report_examples:
        title = (f"{meta['id']}: test SNR {metrics['snr_in_db']:.1f} -> {metrics['snr_out_db']:.1f} dB"
                 if test_clean is not None else f"{meta['id']}: test windows (no clean truth)")
        evaluate.plot_examples(report / "examples.png", test_clean, test_noisy, denoised, title, cfg.report_examples)
    say(text)
    if "seed_scale" in metrics:
        s = metrics["seed_scale"]
        say(f"seed scale [0, 1]: RMSE {s['rmse_in']:.4f} -> {s['rmse_out']:.4f}, SNR {s['snr_in_db']:.1f} -> "
            f"{s['snr_out_db']:.1f} dB; val BCE {metrics.get('val_loss', float('nan')):.4f} "
            f"(floor {metrics['bce_floor']:.4f})")
