from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hush.modelfile import ModelFileError
from hush.runtime import bf16
from hush.runtime.runner import Runner, buckets_for


def test_buckets() -> None:
    assert buckets_for(1) == [1]
    assert buckets_for(64) == [1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64]
    assert buckets_for(100) == [1, 2, 4, 8, 12, 24, 36, 48, 60, 72, 84, 96, 100]
    assert buckets_for(256)[-3:] == [192, 224, 256] and len(buckets_for(1024)) == 15


def test_output_is_in_the_inputs_units(tiny_runner: Runner) -> None:
    """Standardising by the noisy window and undoing it after: scale and offset pass straight through."""
    rng = np.random.default_rng(1)
    x = np.sin(np.linspace(0, 6, 150))[None, :] + 0.2 * rng.standard_normal((5, 150))
    y = tiny_runner.denoise(x)
    y_big = tiny_runner.denoise(1000.0 * x + 1e5)
    np.testing.assert_allclose(y_big, 1000.0 * y + 1e5, rtol=1e-6, atol=1e-3)
    assert np.abs(y - x).mean() < np.abs(x).mean()  # it changed the signal, but kept it in place


def test_padding_and_chunking_do_not_change_answers(tiny_runner: Runner) -> None:
    x = np.random.default_rng(2).standard_normal((37, 150))  # > max_batch 16: three chunks, last padded
    together = tiny_runner.denoise(x)
    alone = np.concatenate([tiny_runner.denoise(x[i:i + 1]) for i in range(len(x))])
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-4)


def test_flat_window_maps_to_itself(tiny_runner: Runner) -> None:
    y = tiny_runner.denoise(np.full((1, 150), 42.0))
    np.testing.assert_allclose(y, 42.0, atol=1e-6)


def _rewrite_meta(src: Path, dst: Path, **changes: object) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "hush.json":
                meta = json.loads(data)
                meta.update(changes)
                meta = {k: v for k, v in meta.items() if v is not None}
                data = json.dumps(meta).encode()
            zout.writestr(item, data)


@pytest.mark.parametrize("changes,message", [
    ({"window": 100}, "model maps (None, 150, 1) -> (None, 150, 1); expected (None, 100, 1)"),
    ({"version": 99}, "model format version 99; this Hush serves version 1"),
    ({"scaling": "zscore"}, "scaling must be one of ('standardize', 'minmax'), got 'zscore'"),
    ({"format": "other"}, "hush.json does not describe a hush-model"),
    ({"id": None}, "the model has no id"),
])
def test_refuses_models_it_cannot_serve(tiny_model: Path, tmp_path: Path, changes: dict[str, object],
                                        message: str) -> None:
    bad = tmp_path / "bad.keras"
    _rewrite_meta(tiny_model, bad, **changes)
    with pytest.raises(ModelFileError) as info:
        Runner.load(bad, max_batch=4)
    assert message in str(info.value) and str(bad) in str(info.value)


def test_refuses_missing_and_foreign_files(tmp_path: Path, tiny_model: Path) -> None:
    with pytest.raises(ModelFileError, match="model file not found: .*nope.keras"):
        Runner.load(tmp_path / "nope.keras")
    junk = tmp_path / "junk.keras"
    junk.write_text("not a zip")
    with pytest.raises(ModelFileError, match="not a .keras archive"):
        Runner.load(junk)
    plain = tmp_path / "plain.keras"
    with zipfile.ZipFile(tiny_model) as zin, zipfile.ZipFile(plain, "w") as zout:
        for item in zin.namelist():
            if item != "hush.json":
                zout.writestr(item, zin.read(item))
    with pytest.raises(ModelFileError, match="has no hush.json entry: not written by `hush train`"):
        Runner.load(plain)
    shutil.copy(tiny_model, tmp_path / "ok.keras")
    assert Runner.load(tmp_path / "ok.keras", max_batch=2).window == 150


def test_every_engine_gives_the_same_answers(tiny_model: Path, tiny_runner: Runner) -> None:
    """graph, XLA and TensorFlow Lite run the same float32 network: equal to float32 rounding, every bucket."""
    x = np.random.default_rng(3).standard_normal((37, 150)) * 5.0 + 3.0  # chunks of 16, 16, 5 (padded to 8)
    answers = {e: Runner.load(tiny_model, max_batch=16, engine=e).denoise(x) for e in ("graph", "xla", "lite")}
    for e in ("xla", "lite"):
        np.testing.assert_allclose(answers[e], answers["graph"], rtol=0, atol=1e-4, err_msg=e)
    assert set(tiny_runner.choice) == set(tiny_runner.buckets)  # auto chose an engine for every bucket
    assert set(tiny_runner.choice.values()) <= {"graph", "xla", "lite", "bf16"}  # never int8
    if "bf16" not in tiny_runner.choice.values():  # bf16 answers are compared by quality, below
        np.testing.assert_allclose(tiny_runner.denoise(x), answers["graph"], rtol=0, atol=1e-4)


bf16_cores = pytest.mark.skipif(not bf16.hardware(), reason="these cores have no bfloat16 arithmetic")
REDUCED = [pytest.param("int8"), pytest.param("bf16", marks=bf16_cores)]


@pytest.mark.parametrize("engine", REDUCED)
def test_reduced_precision_on_white_noise_denoises_a_real_recording_as_well_as_float32(engine: str) -> None:
    """The shipped model on the ECG recording with white noise at 10 to 40 dB (the last nearly clean): the
    int8 and bfloat16 engines' output SNR is within bf16.TOLERANCE_DB of float32's. (Whether the model helps a
    nearly clean ECG is a question about the model, not the engine.)"""
    from hush.paths import DEFAULT_MODEL
    from tests import REPO_ROOT

    ecg = np.load(REPO_ROOT / "data" / "ecg_mitbih208.npy")[:150 * 400].reshape(400, 150)
    rng = np.random.default_rng(5)
    runners = {e: Runner.load(DEFAULT_MODEL, max_batch=64, engine=e) for e in ("graph", engine)}
    for snr in (10.0, 20.0, 30.0, 40.0):
        noisy = ecg + rng.standard_normal(ecg.shape) * np.sqrt(ecg.var(axis=1, keepdims=True) / 10 ** (snr / 10))
        out = {e: bf16.snr_db(ecg, r.denoise(noisy)) for e, r in runners.items()}
        assert abs(out[engine] - out["graph"]) <= bf16.TOLERANCE_DB, (snr, out)
        if snr <= 20:
            assert out[engine] > bf16.snr_db(ecg, noisy) + 1  # and it denoises


def test_int8_answers_each_window_alone() -> None:
    """int8 activations are quantised from each window's own range: a window's answer is the same alone,
    beside a window with a spike 100 times its size, and in any bucket."""
    from hush.paths import DEFAULT_MODEL

    runner = Runner.load(DEFAULT_MODEL, max_batch=16, engine="int8")
    rng = np.random.default_rng(7)
    x = np.sin(np.linspace(0, 9, 150))[None, :] + 0.01 * rng.standard_normal((1, 150))
    loud = rng.standard_normal((1, 150))
    loud[0, 70] = 100.0
    alone = runner.denoise(x)
    np.testing.assert_array_equal(runner.denoise(np.concatenate([loud, x]))[1:], alone)
    np.testing.assert_array_equal(runner.denoise(np.repeat(x, 11, axis=0))[5:6], alone)
    assert 0 < np.abs(alone - x).max() < 0.1  # it changed the window, a little


def test_the_check_sees_what_int8_costs_the_shipped_model_on_impulses(caplog: pytest.LogCaptureFixture) -> None:
    """Impulses at 0 dB, cleaned to ~40 dB by float32, lose 1.4-2.7 dB in int8 (one large value sets its
    window's whole 8-bit range): the check says so, auto never tries int8, and int8 asked for by name is
    served with a warning. (In bfloat16 the shipped model sits near the check's tolerance, -0.29 dB on its
    impulses at 0 dB where emulated, so no test pins the side it lands on; a bf16 engine outside it is
    dropped: test_auto_drops_bf16_when_its_answers_fail_the_check.)"""
    from hush.paths import DEFAULT_MODEL

    with caplog.at_level("WARNING", logger="hush.runner"):
        auto = Runner.load(DEFAULT_MODEL, max_batch=16, engine="auto")
        named = Runner.load(DEFAULT_MODEL, max_batch=16, engine="int8")
    assert "OUTSIDE" in named.checks["int8"] and "impulses 0 dB: -" in named.checks["int8"]
    assert "int8" not in auto.choice.values() and set(named.choice.values()) == {"int8"}
    assert "int8" not in auto.checks
    assert "serving int8 as configured" in caplog.text


def test_the_bf16_check_refuses_an_engine_that_loses_quality() -> None:
    """The rule: an engine whose output SNR is off by more than the tolerance at any input level fails."""
    same = lambda z: z  # noqa: E731
    assert bf16.check(same, same, 150, "standardize")[0]
    rng = np.random.default_rng(6)
    worse = lambda z: z + rng.standard_normal(z.shape).astype(np.float32) * 3e-3  # -50 dB of a window  # noqa: E731
    ok, line = bf16.check(same, worse, 150, "standardize")
    assert not ok and "OUTSIDE" in line and "white 40 dB: -" in line


@bf16_cores
def test_auto_drops_bf16_when_its_answers_fail_the_check(tiny_model: Path, monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    import hush.runtime.bf16 as bf16_module

    monkeypatch.setattr(bf16_module, "check", lambda *a: (False, "bfloat16 against float32: OUTSIDE"))
    with caplog.at_level("WARNING", logger="hush.runner"):
        auto = Runner.load(tiny_model, max_batch=8, engine="auto")
    assert "bf16" not in auto.choice.values() and "OUTSIDE" in auto.checks["bf16"]
    assert "not using it" in caplog.text


def test_lite_interpreters_are_never_shared_between_threads(tiny_model: Path) -> None:
    """An interpreter is not thread-safe: threads calling at once each get their own set (made when all are
    busy), and every thread gets the answers to its own windows."""
    from concurrent.futures import ThreadPoolExecutor

    runner = Runner.load(tiny_model, max_batch=16, engine="lite", workers=1)
    rng = np.random.default_rng(4)
    inputs = [rng.standard_normal((n, 150)) * (n + 1) for n in (1, 3, 8, 16)]
    want = [runner.denoise(x) for x in inputs]

    def work(i: int) -> bool:
        return all(np.array_equal(runner.denoise(inputs[i]), want[i]) for _ in range(100))

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(work, range(4)))
    assert runner.lite is not None and 1 <= runner.lite.sets <= 4


def test_a_model_lite_cannot_convert_is_served_by_the_other_engines(tiny_model: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The conversion is faked to fail (a layer without a Lite kernel): auto keeps the others; lite or int8,
    asked for by name, is refused with a message that says what to do."""
    import hush.runtime.runner as runner_module

    def refuse(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("op MyCustomOp is neither a custom op nor a flex op")

    monkeypatch.setattr(runner_module, "convert", refuse)
    auto = Runner.load(tiny_model, max_batch=4, engine="auto")
    assert auto.lite is None and set(auto.choice.values()) <= {"graph", "xla", "bf16"}
    assert auto.denoise(np.ones((1, 150))).shape == (1, 150)
    refused = r"TensorFlow Lite cannot convert it \(op MyCustomOp.*engine = \"graph\""
    for engine in ("lite", "int8"):
        with pytest.raises(ModelFileError, match=refused):
            Runner.load(tiny_model, max_batch=4, engine=engine)


def test_the_shipped_models_part_on_a_one_sample_excursion() -> None:
    """A two-level signal whose one sample leaves its level and comes straight back, nearly clean (40 dB): the
    default takes that sample for an impulse and removes it; keep-events keeps it, and both remove the white
    noise around it."""
    from hush.paths import DEFAULT_MODEL, KEEP_EVENTS_MODEL

    rng = np.random.default_rng(3)
    clean = np.where((np.arange(150) // 30) % 2 == 0, 1.0, -1.0)[None].repeat(8, axis=0)
    at = rng.integers(10, 140, 8)
    clean[np.arange(8), at] *= -1  # the excursion: one sample on the other level
    noisy = clean + rng.standard_normal(clean.shape) * 0.01  # 40 dB
    for path, kept in ((DEFAULT_MODEL, False), (KEEP_EVENTS_MODEL, True)):
        out = Runner.load(path, max_batch=16).denoise(noisy)
        excursion = np.abs(out[np.arange(8), at] - clean[np.arange(8), at])
        assert (excursion.max() < 0.2) if kept else (excursion.min() > 1.0), (path, excursion)
        rest = np.ones_like(clean, bool)
        rest[np.arange(8), at] = False
        assert ((out - clean)[rest] ** 2).mean() < ((noisy - clean)[rest] ** 2).mean()
