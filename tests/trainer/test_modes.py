"""Training from what users have: a noisy recording alone, noisy/clean pairs, a start from an existing
model, the sensor's own noise. Each mode trains a tiny model on a slice of the shipped real ECG and the
model then serves through a real daemon on loopback; bad inputs get one clear line and exit 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hush import modelfile
from hush.cli import main
from hush.paths import DEFAULT_MODEL
from tests import REPO_ROOT

SMALL = str(Path(__file__).parent / "small.toml")


@pytest.fixture(scope="module")
def ecg(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """6,000 samples of the real ECG, a noisy copy (white, 10 dB over the whole recording), and 3,000
    samples of noise alone (hum and white, an offset)."""
    d = tmp_path_factory.mktemp("ecg")
    x = np.load(REPO_ROOT / "data" / "ecg_mitbih208.npy")[:6000]
    rng = np.random.default_rng(0)
    np.save(d / "clean.npy", x)
    np.save(d / "noisy.npy", x + rng.standard_normal(x.size) * x.std() / np.sqrt(10))
    t = np.arange(3000) / 360.0
    np.save(d / "noise.npy", 0.2 * np.sin(2 * np.pi * 60 * t) + 0.05 * rng.standard_normal(t.size) + 1.0)
    return {"clean": d / "clean.npy", "noisy": d / "noisy.npy", "noise": d / "noise.npy", "dir": d}


def _serves(model: Path, window: np.ndarray) -> np.ndarray:
    from hush.runtime.runner import Runner
    from tests.conftest import serving

    runner = Runner.load(model, max_batch=8)
    with serving(runner, "ecg/1") as (_srv, sub, pub):
        pub.send(window)
        msg = sub.recv(timeout_s=30)
    assert msg is not None and not msg.is_error
    got = msg.samples()
    np.testing.assert_allclose(got, runner.denoise(window[None])[0], rtol=1e-4, atol=1e-5)
    return got


@pytest.mark.parametrize("mode", ["noisy", "blind-spot", "pairs", "init", "noise-file"])
def test_each_mode_trains_a_model_that_serves(mode: str, ecg: dict[str, Path], tiny_model: Path) -> None:
    out = ecg["dir"] / f"{mode}.keras"
    (ecg["dir"] / "blind.toml").write_text(Path(SMALL).read_text() + 'self_supervision = "blind-spot"\n')
    args = {"noisy": ["--noisy", str(ecg["noisy"])],
            "blind-spot": ["--noisy", str(ecg["noisy"]), "--config", str(ecg["dir"] / "blind.toml"), "--init", "none"],
            "pairs": ["--pairs", str(ecg["noisy"]), str(ecg["clean"])],
            "init": ["--clean", str(ecg["clean"]), "--init", str(tiny_model)],
            "noise-file": ["--clean", str(ecg["clean"]), "--noise-file", str(ecg["noise"])]}[mode]
    assert main(["train", "--config", SMALL, "--epochs", "1", "--out", str(out), *args]) == 0
    meta = modelfile.read_meta(out)
    source = meta["data"]
    want = {"noisy": "noisy recording", "blind-spot": "noisy recording", "pairs": "pairs", "init": "recording",
            "noise-file": "recording"}[mode]
    assert source["kind"] == want and source["samples"] == 6000 and source["windows"]["test"] > 0
    if mode == "noisy":  # --noisy fine-tunes the shipped model unless told otherwise
        assert source["init"]["id"] == modelfile.read_meta(DEFAULT_MODEL)["id"]
    if mode == "blind-spot":
        assert source["init"] is None
    if mode == "init":
        assert source["init"]["id"] == modelfile.read_meta(tiny_model)["id"]
        assert meta["parameters"] == modelfile.read_meta(tiny_model)["parameters"]  # the same network, tuned
    if mode == "noise-file":
        assert source["noise_file"] == str(ecg["noise"])
    report = out.with_name(f"{mode}-report")
    assert (report / "loss.png").stat().st_size > 1000 and "data: " in (report / "report.txt").read_text()
    window = np.load(ecg["noisy"])[-150:]
    got = _serves(out, window)
    assert got.shape == (150,) and np.isfinite(got).all()


@pytest.mark.parametrize("shrink", [1.0, 0.5])
def test_init_shrink_starts_from_a_share_of_the_model_plus_a_fresh_start(shrink: float, tiny_model: Path) -> None:
    """init_shrink (shrink and perturb): each weight starts as shrink x the model's plus a tenth of a freshly
    initialised network's; biases start fresh at 0, so they are the model's, shrunk, exactly; 1 loads as is."""
    import dataclasses

    import keras

    from hush.config import TrainConfig
    from hush.trainer.train import start_from
    from tests.conftest import TINY

    cfg = dataclasses.replace(TrainConfig(**TINY), init_shrink=shrink)  # type: ignore[arg-type]
    model, source = start_from(cfg, tiny_model, keras)
    assert source is not None and source["shrink"] == shrink
    old = keras.models.load_model(tiny_model, compile=False)
    for layer, was in zip(model.layers, old.layers, strict=True):
        if not layer.weights:
            continue
        kernel, bias = (w.numpy() for w in layer.weights)
        old_kernel, old_bias = (w.numpy() for w in was.weights)
        np.testing.assert_allclose(bias, shrink * old_bias, rtol=1e-6, atol=1e-7)
        fresh = kernel - shrink * old_kernel
        if shrink == 1:
            assert np.array_equal(kernel, old_kernel)
            continue
        fan_in, fan_out = np.prod(kernel.shape[:-1]), kernel.shape[0] * kernel.shape[-1]
        glorot = np.sqrt(2 / (fan_in + fan_out))  # Keras's default kernel initialiser's spread
        assert 0.07 * glorot < fresh.std() < 0.13 * glorot, layer.name


def test_recorrupted_pairs_have_target_noise_independent_of_the_input() -> None:
    """For white Gaussian noise of the estimated level, the target's noise is uncorrelated with the input's,
    and the target's mean is the clean signal: what a clean reference would have taught."""
    from hush.trainer.selfsup import recorrupt, recorrupted_batches

    rng = np.random.default_rng(0)
    clean = np.sin(np.linspace(0, 20, 150))[None].repeat(4000, axis=0)
    noisy = clean + 0.3 * rng.standard_normal(clean.shape)
    sigma = np.full((4000, 1), 0.3)
    x, y = recorrupt(noisy, sigma, rng)
    e_in, e_out = (x - clean).ravel(), (y - clean).ravel()
    assert abs(np.corrcoef(e_in, e_out)[0, 1]) < 0.01
    assert abs(e_out.mean()) < 0.01 and abs(e_in.std() - 0.3 * np.sqrt(1.25)) < 0.01
    batches = recorrupted_batches(noisy[:100], sigma[:100], 32, 3, seed=1)
    assert len(batches) == 10  # 300 pairs in batches of 32
    a, b = batches[0], batches[0]
    assert a[0].shape == (32, 150, 1) and not np.array_equal(a[0], b[0])  # fresh noise every time


def test_blind_spots_hide_samples_behind_their_neighbours() -> None:
    from hush.trainer.selfsup import RADIUS, blind_spot

    z = np.arange(2 * 150, dtype=np.float32).reshape(2, 150)
    masked, target, weight = blind_spot(z, np.random.default_rng(0), copies=3)
    assert masked.shape == target.shape == weight.shape == (6, 150)
    hidden = weight > 0
    assert hidden.any(axis=1).all() and 0.005 < hidden.mean() < 0.1
    np.testing.assert_array_equal(masked[~hidden], target[~hidden])  # only hidden samples change
    moved = np.abs(masked - target)[hidden]
    assert (moved >= 1).all() and (moved <= RADIUS).all()  # each took a neighbour's value, never its own


@pytest.mark.parametrize("case", ["short", "part", "nan", "window", "column"])
def test_bad_inputs_are_one_clear_line(case: str, ecg: dict[str, Path], tiny_model: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    if case == "short":
        np.save(tmp_path / "short.npy", np.ones(100))
        args, want = ["--noisy", str(tmp_path / "short.npy")], "fewer than one window of 150"
    elif case == "part":  # long enough to cut, but its validation and test parts are not a window each
        np.save(tmp_path / "part.npy", np.load(ecg["clean"])[:600])
        args, want = ["--clean", str(tmp_path / "part.npy")], "(samples: val 102, test 90;"
    elif case == "nan":
        x = np.load(ecg["noisy"])
        x[1234] = np.nan
        np.save(tmp_path / "nan.npy", x)
        args, want = ["--noisy", str(tmp_path / "nan.npy")], "sample 1234 is not finite"
    elif case == "window":
        args, want = ["--clean", str(ecg["clean"]), "--init", str(tiny_model), "--window", "100"], \
            "the model's window is 150, this run's is 100"
    else:
        (tmp_path / "two.csv").write_text("time,ecg\n0,1\n1,2\n")
        args, want = ["--noisy", str(tmp_path / "two.csv"), "--column", "voltage"], "no column 'voltage'"
    assert main(["train", "--config", SMALL, "--epochs", "1", "--out", str(tmp_path / "x.keras"), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and want in err[0], err
    assert not (tmp_path / "x.keras").exists()


def test_clean_training_draws_fresh_noise_for_every_pass() -> None:
    """fresh_noise: each batch of clean windows comes with newly drawn noise at the configured SNR, the target
    being the clean window in the noisy one's scaling."""
    from hush.config import TrainConfig
    from hush.trainer.train import fresh_noise_batches

    clean = np.sin(np.linspace(0, 20, 150))[None].repeat(100, axis=0)
    cfg = TrainConfig(noise=["white"], batch_size=25, snr_db_min=10.0, snr_db_max=10.0)
    batches = fresh_noise_batches(cfg, clean)
    assert len(batches) == 4
    (x, y), (x_again, _) = batches[0], batches[0]
    assert x.shape == y.shape == (25, 150, 1) and not np.array_equal(x, x_again)  # other noise each time
    unit = (y - y.mean(axis=1, keepdims=True)) / np.ptp(y, axis=1, keepdims=True)
    np.testing.assert_allclose(unit[0], unit[1], atol=1e-5)  # the clean sine, in each noisy window's scaling
    snr = 10 * np.log10(y.var(axis=1) / (x - y).var(axis=1))
    assert abs(float(snr.mean()) - 10.0) < 0.5


def test_augment_adds_stretched_flipped_and_reversed_clean_windows() -> None:
    """augment: a recording's training windows, plus the recording resampled at each STRETCH rate (a tone runs
    that much faster, without aliasing), and the sign- and time-reversed copies of all of them."""
    from hush.config import TrainConfig
    from hush.samples import cut_windows
    from hush.trainer.train import STRETCH, augmented

    n, f = 3000, 10.0 / 150  # 10 cycles per window
    x = np.sin(2 * np.pi * f * np.arange(n))
    cfg = TrainConfig(clean_hop=150, augment=["stretch"])
    w = cut_windows(x, 150, 150)
    out = augmented(x, w, cfg)
    sizes = [w.shape[0]] + [(n * up // down - 150) // 150 + 1 for up, down in STRETCH]
    assert out.shape == (sum(sizes), 150)
    peak = [int(np.argmax(np.abs(np.fft.rfft(win)))) for win in out[np.cumsum(sizes)[:-1] + 2]]
    want = [10 * down / up for up, down in STRETCH]  # 12.5, 11.1, 9.1 and 8 cycles per window
    assert all(abs(p - c) <= 0.5 for p, c in zip(peak, want, strict=True)), (peak, want)
    both = augmented(x, w, TrainConfig(clean_hop=150, augment=["flip", "reverse"]))
    k = w.shape[0]
    assert both.shape == (4 * k, 150)
    np.testing.assert_array_equal(both[k:2 * k], -w)
    np.testing.assert_array_equal(both[2 * k:3 * k], w[:, ::-1])
    np.testing.assert_array_equal(both[3 * k:], -w[:, ::-1])
