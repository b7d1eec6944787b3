from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hush import modelfile
from hush.cli import main
from hush.config import TrainConfig
from hush.trainer import data
from hush.trainer.model import loss_for, seed_model
from hush.trainer.noise import ADDITIVE, add_noise


def test_tiny_model_file_is_self_contained(tiny_model: Path) -> None:
    meta = modelfile.read_meta(tiny_model)
    assert meta["window"] == 150 and meta["scaling"] == "standardize" and meta["id"].startswith("tiny-")
    assert meta["train_config"]["n_windows"] == 4000
    m = meta["metrics"]
    for key in ("rmse_in", "rmse_out", "snr_in_db", "snr_out_db", "snr_gain_db", "baselines"):
        assert key in m
    assert m["snr_gain_db"] > 0  # even two tiny epochs denoise
    assert set(m["baselines"]) == {"moving average", "Savitzky-Golay", "Butterworth filtfilt", "Wiener", "median",
                                   "notch"}
    report = tiny_model.with_name("tiny-report")
    assert (report / "loss.png").stat().st_size > 1000
    assert (report / "examples.png").stat().st_size > 1000
    assert json.loads((report / "metrics.json").read_text())["id"] == meta["id"]
    with zipfile.ZipFile(tiny_model) as zf:
        assert {"config.json", "model.weights.h5", "hush.json"} <= set(zf.namelist())


def test_seed_architecture_has_the_tutorials_parameter_count() -> None:
    model = seed_model(150)
    assert model.count_params() == 28_737
    assert [tuple(layer.output.shape) for layer in model.layers[1:]] == [
        (None, 148, 128), (None, 146, 32), (None, 148, 32), (None, 150, 128), (None, 150, 1)]


def test_the_snr_loss_floor_decides_how_clean_a_window_is_worth_making() -> None:
    """Each window's error in dB, floored `loss_floor_db` below its variance: past the floor a cleaner answer
    gains nothing, so a 60 dB floor cannot tell 70 dB output from 80 dB output, and an 80 dB floor can."""
    truth = np.zeros((2, 150, 1), np.float32)
    pred = truth + np.array([10 ** -3.5, 10 ** -4], np.float32)[:, None, None]  # errors at -70 and -80 dB
    at60, at80 = (np.asarray(loss_for("snr", floor_db=f)(truth, pred)) for f in (60.0, 80.0))
    assert at60[0] - at60[1] < 0.5 and at80[0] - at80[1] > 2.5
    assert at80[1] == pytest.approx(-80 + 10 * np.log10(2), abs=0.05)  # error and floor alike: 3 dB above both
    blind = np.concatenate([truth, np.ones_like(truth)], axis=-1)
    np.testing.assert_allclose(np.asarray(loss_for("snr", blind=True, floor_db=80.0)(blind, pred)), at80, atol=1e-4)


@pytest.mark.parametrize("family", sorted(data.FAMILIES))
def test_every_family_is_finite_and_varied(family: str) -> None:
    cfg = TrainConfig(families=[family])
    x = data.synthetic_clean(cfg, 64, np.random.default_rng(0))
    assert x.shape == (64, 150) and np.isfinite(x).all()
    if family == "seed_parabola":
        np.testing.assert_allclose(x[3], (np.arange(-50, 100) * 0.01) ** 2)
    else:
        assert np.ptp(x.std(axis=1)) > 0  # windows differ in amplitude


def test_gaussian_noise_hits_the_asked_snr() -> None:
    cfg = TrainConfig(snr_db_min=10.0, snr_db_max=10.0)
    rng = np.random.default_rng(1)
    clean = data.synthetic_clean(cfg, 2000, rng)
    noisy = add_noise(clean, cfg, rng)
    snr = 10 * np.log10(clean.var(axis=1) / (noisy - clean).var(axis=1))
    assert abs(np.median(snr) - 10.0) < 0.3


def test_seed_preset_through_the_cli(tmp_path: Path) -> None:
    """The preset sets the tutorial's recipe; flags still win (a small, quick run here)."""
    out = tmp_path / "seed.keras"
    assert main(["train", "--preset", "seed", "--n-windows", "1500", "--epochs", "1", "--out", str(out)]) == 0
    meta = modelfile.read_meta(out)
    tc = meta["train_config"]
    assert (tc["architecture"], tc["scaling"], tc["loss"], tc["families"], tc["batch_size"], tc["noise"]) == (
        "seed", "minmax", "bce", ["seed_parabola"], 150, ["seed"])
    assert tc["epochs"] == 1 and tc["n_windows"] == 1500
    assert meta["parameters"] == 28_737 and meta["metrics"]["test_windows"] == 450
    assert 0.3 < meta["metrics"]["bce_floor"] < 0.4 and "seed_scale" in meta["metrics"]


def test_train_on_a_recording(tmp_path: Path) -> None:
    t = np.arange(9000) / 360.0
    np.save(tmp_path / "rec.npy", np.sin(2 * np.pi * 1.2 * t) + 0.3 * np.sin(2 * np.pi * 7 * t))
    out = tmp_path / "rec.keras"
    assert main(["train", "--clean", str(tmp_path / "rec.npy"), "--epochs", "1", "--out", str(out),
                 "--config", str(Path(__file__).parent / "small.toml")]) == 0
    meta = modelfile.read_meta(out)
    assert meta["data"] == {"kind": "recording", "path": str(tmp_path / "rec.npy"), "samples": 9000,
                            "noise": ["mix"], "noise_file": None, "noise_file_share": None, "augment": [],
                            "init": None, "windows": {"train": 598, "val": 139, "test": 17}}
    # The test part is the recording's last 15 %: 1350 samples, windows every 75: 17 windows.
    assert meta["metrics"]["test_windows"] == 17


def test_bad_recording_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.csv").write_text("1.0\n2.0\nabc\n")
    assert main(["train", "--clean", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "x.keras")]) == 2
    assert "bad.csv line 3: 'abc' is not a number" in capsys.readouterr().err


@pytest.mark.parametrize("kinds", [[k] for k in sorted(ADDITIVE)] + [["white", "hum", "wander"]])
def test_additive_noise_kinds_compose_at_the_asked_snr(kinds: list[str]) -> None:
    cfg = TrainConfig(noise=kinds)
    rng = np.random.default_rng(2)
    clean = data.synthetic_clean(cfg, 500, rng)
    noisy = add_noise(clean, cfg, rng, snr_db=5.0)
    noise_var = (noisy - clean).var(axis=1)
    hit = noise_var > 0
    assert np.isfinite(noisy).all() and hit.all()
    assert np.allclose(10 * np.log10(clean.var(axis=1)[hit] / noise_var[hit]), 5.0, atol=0.01)


def test_checkpoints_and_tensorboard_logs(tmp_path: Path) -> None:
    out = tmp_path / "m.keras"
    assert main(["train", "--config", str(Path(__file__).parent / "small.toml"), "--n-windows", "600",
                 "--epochs", "2", "--out", str(out), "--checkpoint-dir", str(tmp_path / "ckpt"),
                 "--tensorboard-dir", str(tmp_path / "tb")]) == 0
    assert modelfile.read_meta(out)["metrics"]["epochs_run"] == 2
    assert any((tmp_path / "tb").rglob("events.out.tfevents.*"))
    assert not (tmp_path / "ckpt").exists() or not any((tmp_path / "ckpt").iterdir())  # removed when done


def test_same_seed_same_model(tmp_path: Path) -> None:
    """Two runs of `hush train` (two processes, as a user reruns it) give the same weights, so the same id."""
    import subprocess
    import sys

    ids = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.keras"
        subprocess.run([sys.executable, "-m", "hush.cli", "train", "--config", str(Path(__file__).parent /
                        "small.toml"), "--n-windows", "600", "--epochs", "1", "--out", str(out), "-q"],
                       check=True, capture_output=True, timeout=300)
        ids.append(modelfile.read_meta(out)["id"].split("-")[-1])
    assert ids[0] == ids[1]  # the id ends with the weights' hash


def test_an_interrupted_run_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    """Kill `hush train` after its first epoch; the same command again goes on from epoch 2."""
    import subprocess
    import sys

    cmd = [sys.executable, "-u", "-m", "hush.cli", "train", "--config", str(Path(__file__).parent / "small.toml"),
           "--n-windows", "12000", "--epochs", "3", "--out", str(tmp_path / "r.keras"), "--checkpoint-dir",
           str(tmp_path / "ckpt")]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert first.stdout is not None
    for line in first.stdout:
        if line.startswith("epoch 1:"):
            break
    import time

    def written() -> bool:  # Keras writes the weights, then this JSON, just after the epoch line
        import json

        try:
            return bool(json.loads((tmp_path / "ckpt" / "training_metadata.json").read_text()))
        except (OSError, ValueError):
            return False

    deadline = time.monotonic() + 120
    while not written() and time.monotonic() < deadline:
        time.sleep(0.01)
    first.kill()
    first.wait(30)
    assert not (tmp_path / "r.keras").exists()
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    epochs = [line.split(":")[0] for line in second.stdout.splitlines() if line.startswith("epoch ")]
    assert "resuming from the checkpoint" in second.stdout
    assert epochs[0] != "epoch 1" and epochs[-1] == "epoch 3", epochs
    assert modelfile.read_meta(tmp_path / "r.keras")["window"] == 150


def test_a_checkpoint_cut_short_falls_back_an_epoch_or_starts_over(tmp_path: Path) -> None:
    """A kill while Keras writes the epoch's JSON leaves it empty: the previous epoch's pair is used when
    there is one, and the run starts over (with a line saying so) when there is none."""
    import keras

    from trainer.train import safe_backup

    said: list[str] = []
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    model.save_weights(ckpt / "latest.weights.h5")
    (ckpt / "training_metadata.json").write_text("")
    cb = safe_backup(keras, str(ckpt), said.append)
    cb.set_model(model)
    cb.on_train_begin()
    assert model._initial_epoch == 0 and "starting over" in said[-1] and not ckpt.exists()

    ckpt.mkdir()
    model.save_weights(ckpt / "latest.weights.h5")
    (ckpt / "latest.weights.h5.bkp").write_bytes((ckpt / "latest.weights.h5").read_bytes())
    (ckpt / "training_metadata.json.bkp").write_text('{"epoch": 2, "batch": 0}')
    (ckpt / "training_metadata.json").write_text("")
    cb.on_train_begin()
    assert model._initial_epoch == 2 and said[-1].endswith("epoch 3")


def test_csv_with_several_columns_needs_a_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = np.arange(3000) / 360.0
    rows = "\n".join(f"{a:.5f},{b:.5f}" for a, b in zip(t, np.sin(2 * np.pi * 2 * t), strict=True))
    (tmp_path / "rec.csv").write_text("time,ecg\n" + rows + "\n")
    out = tmp_path / "m.keras"
    assert main(["train", "--clean", str(tmp_path / "rec.csv"), "--out", str(out)]) == 2
    assert "2 columns (time, ecg); say which one to read with --column" in capsys.readouterr().err
    assert main(["train", "--clean", str(tmp_path / "rec.csv"), "--column", "nope", "--out", str(out)]) == 2
    assert "no column 'nope'; the header has time, ecg" in capsys.readouterr().err
    assert not out.exists()


def test_noise_file_is_the_noise_trained_on(tmp_path: Path) -> None:
    """A recording of the sensor's own noise (here: hum plus pink) is cut into segments and added."""
    rng = np.random.default_rng(0)
    t = np.arange(20_000) / 360.0
    noise_rec = np.sin(2 * np.pi * 50 * t) + 0.3 * rng.standard_normal(t.size) + 7.0  # an offset, too
    np.save(tmp_path / "noise.npy", noise_rec)
    out = tmp_path / "n.keras"
    assert main(["train", "--config", str(Path(__file__).parent / "small.toml"), "--n-windows", "600",
                 "--epochs", "1", "--out", str(out), "--noise-file", str(tmp_path / "noise.npy")]) == 0
    meta = modelfile.read_meta(out)
    assert meta["data"]["noise_file"] == str(tmp_path / "noise.npy") and meta["data"]["noise_file_share"] == 1.0
    from hush.trainer.noise import Recorded

    rec = Recorded(noise_rec, 150, 0.15, "train", "noise.npy")
    seg = rec.draw(rng, 50)
    assert np.allclose(seg.mean(axis=1), 0) and np.allclose(seg.std(axis=1), 1)
    spec = np.abs(np.fft.rfft(seg, axis=1)).mean(axis=0)
    assert abs(np.argmax(spec) * 360 / 150 - 50) < 3  # the hum is what was drawn
    with pytest.raises(ValueError, match="fewer than one window"):
        Recorded(noise_rec[:160], 150, 0.15, "test", "short.npy")


def test_noise_recording_parts_are_disjoint_in_time() -> None:
    """Validation draws its recorded noise from its own stretch, as the test does: a segment training saw
    would flatter the validation loss that early stopping and the weights' average are judged by."""
    from hush.trainer.noise import Recorded

    x = np.arange(1000.0)
    parts = {p: Recorded(x, 50, 0.15, p, "n.npy", val_fraction=0.2).x for p in ("train", "val", "test")}
    assert [len(parts[p]) for p in ("train", "val", "test")] == [680, 170, 150]
    assert np.array_equal(np.concatenate([parts["train"], parts["val"], parts["test"]]), x)
    assert np.array_equal(Recorded(x, 50, 0.15, "train", "n.npy").x, x[:850])  # no validation part asked for
    with pytest.raises(ValueError, match="val part of the noise recording has 0 samples"):
        Recorded(x, 50, 0.15, "val", "n.npy")


def test_recorded_noise_fills_rows_longer_than_a_window() -> None:
    """hush eval's stream test adds recorded noise to a whole held-out stretch at once."""
    from hush.trainer.noise import Recorded

    rec = Recorded(np.random.default_rng(1).standard_normal(1000), 150, 0.15, "train", "n.npy")
    rows = rec.draw(np.random.default_rng(2), 3, 1000)
    assert rows.shape == (3, 1000) and np.allclose(rows.std(axis=1), 1)


@pytest.mark.parametrize("patience", [0, 1])
def test_weight_average_keeps_the_average_not_the_last_step(patience: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """weight_average: the network kept is the moving average of the trained weights (at the end of the best
    epoch, with early stopping), its momentum capped so that it spans at most a tenth of a short run."""
    import keras

    from hush.trainer import train as train_mod
    from hush.trainer.model import build

    rng = np.random.default_rng(0)
    clean = np.sin(np.linspace(0, 30, 150) + rng.uniform(0, 6, (96, 1)))
    noisy = clean + 0.3 * rng.standard_normal(clean.shape)
    arrays = {"train": (noisy[:64], clean[:64]), "val": (noisy[64:], clean[64:])}
    cfg = TrainConfig(architecture="dilated", filters=4, dilations=[1, 2], loss="mse", batch_size=8, epochs=4,
                      patience=patience, learning_rate=0.01, weight_average=0.999)
    steps: list[list[np.ndarray]] = []  # the trained weights after every step
    ends: list[int] = []  # steps taken at each epoch's end

    class Record(keras.callbacks.Callback):  # type: ignore[misc]
        def on_train_batch_end(self, batch: int, logs: object = None) -> None:
            steps.append([w.copy() for w in self.model.get_weights()])

        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            ends.append(len(steps))

    made = train_mod.callbacks_for
    monkeypatch.setattr(train_mod, "callbacks_for", lambda *a, **k: [Record(), *made(*a, **k)])
    keras.utils.set_random_seed(0)
    model = build(cfg)
    train_mod.compile_for(cfg, model, arrays, supervised=True, fine_tune=False, keras=keras)
    momentum = 1 - 10 / 32  # 8 steps an epoch, 4 epochs: 0.999 is capped
    assert model.optimizer.ema_momentum == pytest.approx(momentum)
    history = train_mod.fit(cfg, model, arrays, False, keras, lambda _line: None)
    ends = ends[1:] + [len(steps)]
    kept_epoch = int(np.argmin(history.history["val_loss"])) if patience else len(ends) - 1
    average = steps[0]  # Keras starts the average at the first step's weights
    for trained in steps[1:ends[kept_epoch]]:
        average = [momentum * a + (1 - momentum) * t for a, t in zip(average, trained, strict=True)]
    for kept, want in zip(model.get_weights(), average, strict=True):
        np.testing.assert_allclose(kept, want, rtol=1e-4, atol=1e-5)
    assert not all(np.allclose(k, t, atol=1e-4) for k, t in zip(model.get_weights(), steps[-1], strict=True))


@pytest.mark.parametrize("spent_s", [60.0, 0.0])
def test_max_minutes_stops_before_an_epoch_that_would_pass_the_budget(spent_s: float) -> None:
    """With 60 of max_minutes' 60 s spent before training (the run's data and model took them), the run stops
    after its first epoch and says why; with the budget barely touched it runs every epoch. Each epoch's line
    says how long the epochs left may take."""
    import time

    import keras

    from hush.trainer import train as train_mod
    from hush.trainer.model import build

    rng = np.random.default_rng(0)
    clean = np.sin(np.linspace(0, 30, 150) + rng.uniform(0, 6, (48, 1)))
    noisy = clean + 0.3 * rng.standard_normal(clean.shape)
    arrays = {"train": (noisy[:32], clean[:32]), "val": (noisy[32:], clean[32:])}
    cfg = TrainConfig(filters=4, dilations=[1, 2], loss="mse", batch_size=8, epochs=3, patience=0, max_minutes=1.0)
    keras.utils.set_random_seed(0)
    model = build(cfg)
    train_mod.compile_for(cfg, model, arrays, supervised=True, fine_tune=False, keras=keras)
    said: list[str] = []
    history = train_mod.fit(cfg, model, arrays, False, keras, said.append, time.perf_counter() - spent_s)
    stops = [line for line in said if line.startswith("time budget: stopping after epoch 1,")]
    assert len(history.history["loss"]) == (1 if spent_s else 3) and len(stops) == (1 if spent_s else 0)
    assert " s left at most)" in said[0] and said[0].startswith("epoch 1: loss")


def test_every_fit_keeps_mallocs_heap_from_tensorflows_trim() -> None:
    """TensorFlow sets malloc's trim threshold when a generator dataset starts, which maps and unmaps every
    step's buffers (heap.py); every fit carries the callback that sets it back, and glibc takes the settings."""
    import platform

    import keras

    from hush.trainer import train as train_mod
    from hush.trainer.heap import keep_heap

    callbacks = train_mod.callbacks_for(TrainConfig(), keras, lambda _line: None, 10, has_val=False)
    assert [type(c).__name__ for c in callbacks].count("HeapKept") == 1
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert keep_heap()
