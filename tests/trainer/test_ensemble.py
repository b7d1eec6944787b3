"""`hush ensemble`: the written model is the average of the model's answers over the views, every engine and the
daemon serve it, its arithmetic is counted per call, and bad requests get one line and exit 2."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hush.cli import main
from hush.runtime.runner import Runner
from hush.tools.model_timing import mflop_per_window
from tests.conftest import serving


@pytest.fixture(scope="module")
def both(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ensemble") / "x4.keras"
    assert main(["ensemble", str(tiny_model), "--views", "sign", "time", "--out", str(out)]) == 0
    return out


def windows(n: int = 12) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.linspace(0, 1, 150)
    clean = np.sin(2 * np.pi * rng.uniform(1, 6, (n, 1)) * t) * rng.uniform(0.5, 20, (n, 1)) + np.where(
        t > rng.uniform(0.2, 0.8, (n, 1)), rng.uniform(-5, 5, (n, 1)), 0.0)  # a tone and a step: not symmetric
    return clean + rng.standard_normal(clean.shape) * clean.std(axis=1, keepdims=True) / np.sqrt(10)


def test_it_is_the_mean_of_the_answers_to_the_four_views(tiny_model: Path, both: Path) -> None:
    plain = Runner.load(tiny_model, max_batch=16, engine="graph").denoise
    x = windows()
    views = [plain(x), -plain(-x), plain(x[:, ::-1])[:, ::-1], -plain(-x[:, ::-1])[:, ::-1]]
    assert np.abs(views[0] - views[1]).max() > 1e-3  # the tiny network is not odd: the views differ
    expected = np.mean(views, axis=0)
    for engine in ("graph", "xla", "lite"):
        got = Runner.load(both, max_batch=16, engine=engine).denoise(x)
        np.testing.assert_allclose(got, expected, rtol=0, atol=2e-4 * np.abs(expected).max(), err_msg=engine)


def test_one_view_and_the_file_says_what_it_is(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "x2.keras"
    assert main(["ensemble", str(tiny_model), "--views", "sign", "--out", str(out)]) == 0
    plain = Runner.load(tiny_model, max_batch=16, engine="graph").denoise
    x = windows()
    got = Runner.load(out, max_batch=16, engine="graph").denoise(x)
    np.testing.assert_allclose(got, (plain(x) - plain(-x)) / 2, rtol=0, atol=1e-4 * np.abs(got).max())
    with zipfile.ZipFile(out) as zf, zipfile.ZipFile(tiny_model) as zm:
        meta, base = json.loads(zf.read("hush.json")), json.loads(zm.read("hush.json"))
    assert meta["self_ensemble"] == ["sign"] and meta["ensemble_of"] == base["id"] and meta["id"] != base["id"]
    assert (meta["window"], meta["scaling"]) == (base["window"], base["scaling"])
    assert mflop_per_window(out) == pytest.approx(2 * mflop_per_window(tiny_model))


def test_its_arithmetic_counts_every_call(tiny_model: Path, both: Path) -> None:
    reversal = 2 * 150 * 150 * 3 / 1e6  # the input reversed once, two answers reversed back
    assert mflop_per_window(both) == pytest.approx(4 * mflop_per_window(tiny_model) + reversal)


def test_the_daemon_serves_it(both: Path) -> None:
    runner = Runner.load(both, max_batch=16, engine="graph")
    x = windows(3)
    with serving(runner, "sym") as (srv, sub, pub):
        for w in x:
            pub.send(w)
        got = [sub.recv(30.0) for _ in x]
    assert all(m is not None and not m.is_error and m.body["model"] == runner.model_id for m in got)
    np.testing.assert_allclose(np.array([m.samples() for m in got if m]), runner.denoise(x), rtol=0, atol=1e-3)


@pytest.mark.parametrize("case, says", [
    ("missing", "model file not found"),
    ("itself", "is the model itself"),
    ("twice", "is already a self-ensemble (of sign, time)"),
])
def test_bad_requests_get_one_line_and_exit_2(case: str, says: str, tiny_model: Path, both: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    model, out = {"missing": (tmp_path / "nope.keras", tmp_path / "o.keras"), "itself": (tiny_model, tiny_model),
                  "twice": (both, tmp_path / "o.keras")}[case]
    assert main(["ensemble", str(model), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hush ensemble: error:") and says in err[0]
    assert not (tmp_path / "o.keras").exists()


def test_a_recordings_model_is_warned_of_the_views_it_never_saw() -> None:
    from hush.trainer.ensemble import unseen_views

    def meta(kind: str, augment: list[str]) -> dict:  # type: ignore[type-arg]
        return {"data": {"kind": kind, "augment": augment}}

    assert unseen_views(meta("synthetic", []), ["sign", "time"]) == []  # families come in both signs and ways
    assert unseen_views(meta("recording", []), ["sign", "time"]) == ["sign", "time"]
    assert unseen_views(meta("noisy recording", ["stretch", "flip"]), ["sign", "time"]) == ["time"]
    assert unseen_views(meta("pairs", ["flip", "reverse"]), ["sign", "time"]) == []
