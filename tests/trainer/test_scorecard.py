from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hush.cli import main


def test_eval_synthetic_table_json_and_picture(tiny_model: Path, tmp_path: Path,
                                               capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["eval", str(tiny_model), "--snr", "0", "20", "--windows", "200", "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "input SNR" in out and "margin" in out
    r = json.loads((tmp_path / "eval.json").read_text())
    assert set(r["by_snr"]) == {"0.0", "20.0"} and r["source"]["kind"] == "synthetic"
    for s in r["by_snr"].values():
        assert set(s["baselines"]) == {"moving average", "Savitzky-Golay", "Butterworth filtfilt", "Wiener"}
        assert abs(s["model"]["snr_gain_db"] - s["margin_db"]
                   - s["baselines"][s["best_baseline"]]["snr_gain_db"]) < 1e-9
    assert abs(r["by_snr"]["0.0"]["model"]["snr_in_db"]) < 0.1  # noised at 0 dB (variance; the error adds its mean)
    assert (tmp_path / "eval.png").stat().st_size > 5000


def test_eval_on_a_recording_measures_seams(tiny_model: Path, tmp_path: Path) -> None:
    t = np.arange(20_000) / 360.0
    np.save(tmp_path / "rec.npy", np.sin(2 * np.pi * 1.1 * t) + 0.5 * np.sin(2 * np.pi * 5 * t))
    assert main(["eval", str(tiny_model), "--clean", str(tmp_path / "rec.npy"), "--snr", "10",
                 "--out-dir", str(tmp_path)]) == 0
    r = json.loads((tmp_path / "eval.json").read_text())
    assert r["source"]["kind"] == "recording" and r["source"]["held_out_samples"] == 3000
    s = r["stream"]
    assert s["rmse_plain"] < s["rmse_noisy"] and s["rmse_stitched"] < s["rmse_noisy"]


def test_eval_pairs(tiny_model: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    clean = np.sin(np.linspace(0, 30, 150 * 8)).reshape(8, 150)
    np.save(tmp_path / "c.npy", clean)
    np.save(tmp_path / "n.npy", clean + 0.2 * rng.standard_normal(clean.shape))
    assert main(["eval", str(tiny_model), "--pairs", str(tmp_path / "c.npy"), str(tmp_path / "n.npy"),
                 "--out-dir", str(tmp_path)]) == 0
    r = json.loads((tmp_path / "eval.json").read_text())
    assert r["source"]["windows"] == 8 and "given" in r["by_snr"]
