"""The multi-scale network (`architecture = "unet"`): it trains, every engine serves it, bad levels are refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hush.cli import main
from hush.config import TrainConfig
from hush.runtime.runner import Runner
from hush.trainer.model import unet_model
from tests.conftest import TINY


def test_a_tiny_unet_trains_denoises_and_every_engine_serves_it_alike(tmp_path: Path) -> None:
    from hush.trainer.train import train

    out = tmp_path / "unet.keras"
    tiny = {**TINY, "architecture": "unet", "levels": [8, 8, 12, 16]}
    train(TrainConfig(out=str(out), **tiny), say=lambda s: None)  # type: ignore[arg-type]
    rng = np.random.default_rng(4)
    tone = np.sin(np.linspace(0, 6 * np.pi, 150))[None, :]
    clean = tone * rng.uniform(0.5, 50, (24, 1)) + rng.uniform(-9, 9, (24, 1))
    noisy = clean + rng.standard_normal(clean.shape) * clean.std(axis=1, keepdims=True) / np.sqrt(10)  # 10 dB
    answers = {e: Runner.load(out, max_batch=16, engine=e).denoise(noisy) for e in ("graph", "xla", "lite", "int8")}
    for e in ("xla", "lite"):
        np.testing.assert_allclose(answers[e], answers["graph"], rtol=0, atol=1e-4, err_msg=e)
    err = {e: float(np.mean((a - clean) ** 2)) for e, a in answers.items()}
    assert err["graph"] < 0.7 * np.mean((noisy - clean) ** 2)  # three tiny epochs already denoise (1.5 dB and more)
    assert abs(err["int8"] / err["graph"] - 1) < 0.2  # and int8 runs it too


def test_unet_shape_and_arithmetic() -> None:
    """Four scales of a 150-sample window (150, 75, 25, 5), the answer subtracted from the input."""
    m = unet_model(150, [32, 48, 64, 96], 7, median_channels=True)
    pooled = [layer.output.shape[1] for layer in m.layers if layer.name.startswith("down")]
    assert pooled == [75, 25, 5] and m.output.shape[1:] == (150, 1) and m.count_params() == 195_670


@pytest.mark.parametrize(("levels", "window", "says"), [
    ([8, 8, 8, 8, 8], 150, "levels: 1 to 4 channel counts of at least 1, got [8, 8, 8, 8, 8]"),
    ([8, 0], 150, "c.toml [train]: levels must be a non-empty list of integers >= 1, got [8, 0]"),
    ([8, 8, 8], 100, "a window of 100 does not divide into 3 scales (pooled by 2, 3): use a window that is a "
                     "multiple of 6, or fewer levels"),
])
def test_levels_the_window_cannot_hold_are_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          levels: list[int], window: int, says: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[train]\narchitecture = "unet"\nlevels = {levels}\nwindow = {window}\nn_windows = 200\n')
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "x.keras")]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1, err
