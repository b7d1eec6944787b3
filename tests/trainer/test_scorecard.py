from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hush import modelfile
from hush.cli import main


def test_eval_synthetic_sets_kinds_families_json_and_pictures(tiny_model: Path, tmp_path: Path,
                                                               capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["eval", str(tiny_model), "--snr", "0", "20", "--windows", "240", "--noise", "white", "spikes",
                 "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "[held-out] families: ecg, rc" in out and "[trained] families: sines" in out
    assert "white noise, margin per family:" in out
    r = json.loads((tmp_path / "eval.json").read_text())
    assert r["source"]["kind"] == "synthetic" and r["source"]["noise"] == ["white", "spikes"]
    assert r["trained_on"]["families"] == modelfile.read_meta(tiny_model)["train_config"]["families"]
    held = r["sets"]["held-out"]
    assert not set(held["families"]) & set(r["trained_on"]["families"])  # really held out
    for kind in ("white", "spikes"):
        rows = held["kinds"][kind]
        assert set(rows) == {"0.0", "20.0"}
        for s in rows.values():
            assert set(s["baselines"]) == {"moving average", "Savitzky-Golay", "Butterworth filtfilt", "Wiener",
                                           "median", "notch"}
            assert abs(s["model"]["snr_gain_db"] - s["margin_db"]
                       - s["baselines"][s["best_baseline"]]["snr_gain_db"]) < 1e-9
            assert set(s["families"]) == set(held["families"])
        assert abs(rows["0.0"]["model"]["snr_in_db"]) < 0.2  # noised at 0 dB
        assert (tmp_path / f"eval-held-out-{kind}.png").stat().st_size > 5000
    # the median filter is the tool for impulses, and the table shows it
    sp = held["kinds"]["spikes"]["0.0"]["baselines"]
    assert sp["median"]["snr_gain_db"] > sp["moving average"]["snr_gain_db"]


def test_eval_at_a_fixed_noise_level(tiny_model: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(tiny_model), "--snr", "10", "--windows", "200", "--noise", "white", "--families",
                 "held-out", "--fixed-level", "--out-dir", str(tmp_path)]) == 0
    r = json.loads((tmp_path / "eval.json").read_text())
    assert set(r["sets"]) == {"held-out"} and r["source"]["noise_level"] == "fixed over the windows"
    m = r["sets"]["held-out"]["kinds"]["white"]["10.0"]["model"]
    assert abs(m["snr_total_in_db"] - 10.0) < 0.5  # 10 dB over all windows together
    # the table shows the gain over all windows together (as over one recording), overall and per family
    out = capsys.readouterr().out
    row = out.split("white noise, the model over all windows together (as over one recording):")[1].splitlines()[2]
    assert row.split() == ["10.0", f"{m['snr_total_in_db']:.2f}", f"{m['snr_total_gain_db']:+.2f}",
                           f"{m['snr_total_out_db']:.2f}"]
    per_family = out.split("white noise, the model's gain over all windows of each family:")[1].splitlines()[1:]
    fams = r["sets"]["held-out"]["kinds"]["white"]["10.0"]["families"]
    assert [line.split() for line in per_family[:len(fams)]] == [
        [f, f"{v['model']['snr_total_gain_db']:+.2f}"] for f, v in fams.items()]


def test_eval_on_a_recording_measures_seams(tiny_model: Path, tmp_path: Path) -> None:
    t = np.arange(20_000) / 360.0
    np.save(tmp_path / "rec.npy", np.sin(2 * np.pi * 1.1 * t) + 0.5 * np.sin(2 * np.pi * 5 * t))
    assert main(["eval", str(tiny_model), "--clean", str(tmp_path / "rec.npy"), "--snr", "10",
                 "--out-dir", str(tmp_path)]) == 0
    r = json.loads((tmp_path / "eval.json").read_text())
    assert r["source"]["kind"] == "recording" and r["source"]["held_out_samples"] == 3000
    s = r["stream"]
    assert s["rmse_plain"] < s["rmse_noisy"] and s["rmse_stitched"] < s["rmse_noisy"]


def test_eval_tail_sets_the_part_of_the_recording_scored(tiny_model: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """--tail scores the recording's last part of that size instead of the model's test_fraction (models
    trained on other parts of one recording, scored on the same samples); a bad one is one clear line."""
    np.save(tmp_path / "rec.npy", np.sin(np.arange(20_000) / 9.0))
    assert main(["eval", str(tiny_model), "--clean", str(tmp_path / "rec.npy"), "--snr", "10", "--tail", "0.3",
                 "--out-dir", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "eval.json").read_text())["source"]["held_out_samples"] == 6000
    capsys.readouterr()
    for bad, said in ((["--tail", "1.5"], "--tail 1.5: expected a fraction between 0 and 1"),
                      (["--tail", "0.001"], "its scored end (20 samples) is shorter than a window")):
        assert main(["eval", str(tiny_model), "--clean", str(tmp_path / "rec.npy"), *bad,
                     "--out-dir", str(tmp_path)]) == 2
        assert said in capsys.readouterr().err
    assert main(["eval", str(tiny_model), "--tail", "0.3", "--out-dir", str(tmp_path)]) == 2
    assert "--tail needs --clean" in capsys.readouterr().err


def test_eval_pairs(tiny_model: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    clean = np.sin(np.linspace(0, 30, 150 * 8)).reshape(8, 150)
    np.save(tmp_path / "c.npy", clean)
    np.save(tmp_path / "n.npy", clean + 0.2 * rng.standard_normal(clean.shape))
    assert main(["eval", str(tiny_model), "--pairs", str(tmp_path / "c.npy"), str(tmp_path / "n.npy"),
                 "--out-dir", str(tmp_path)]) == 0
    r = json.loads((tmp_path / "eval.json").read_text())
    assert r["source"]["windows"] == 8 and "given" in r["by_snr"]


def test_eval_seed_picks_the_draw(tiny_model: Path, tmp_path: Path) -> None:
    """By default the draw is the model's training seed + 10007; `--seed` names it, so several models can be
    scored on the same windows and noise, and another seed is another draw."""
    t = np.arange(20_000) / 360.0
    np.save(tmp_path / "rec.npy", np.sin(2 * np.pi * 1.1 * t) + 0.5 * np.sin(2 * np.pi * 5 * t))
    trained_seed = modelfile.read_meta(tiny_model)["train_config"]["seed"]
    results = []
    for i, seed in enumerate([None, trained_seed + 10_007, 3]):
        out = tmp_path / f"e{i}"
        extra = [] if seed is None else ["--seed", str(seed)]
        assert main(["eval", str(tiny_model), "--clean", str(tmp_path / "rec.npy"), "--snr", "10",
                     "--out-dir", str(out), *extra]) == 0
        r = json.loads((out / "eval.json").read_text())
        results.append((r["seed"], r["by_snr"]["10.0"]["baselines"]["Wiener"]["snr_gain_db"]))
    assert results[0] == results[1] and results[0][0] == trained_seed + 10_007
    assert results[2][0] == 3 and results[2][1] != results[1][1]
