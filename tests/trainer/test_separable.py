"""`architecture = "separable"`: the dilated network with depthwise-separable hidden layers trains, every engine
serves it alike, and it spends the arithmetic its docstring says."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hush.config import TrainConfig
from hush.runtime import bf16
from hush.runtime.runner import Runner
from hush.trainer.model import dilated_model
from tests.conftest import TINY


def test_a_tiny_separable_network_trains_and_every_engine_serves_it_alike(tmp_path: Path) -> None:
    from hush.trainer.train import train

    out = tmp_path / "sep.keras"
    tiny = {**TINY, "architecture": "separable", "filters": 16, "dilations": [1, 2, 1]}
    train(TrainConfig(out=str(out), **tiny), say=lambda s: None)  # type: ignore[arg-type]
    rng = np.random.default_rng(5)
    tone = np.sin(np.linspace(0, 6 * np.pi, 150))[None, :]
    clean = tone * rng.uniform(0.5, 50, (24, 1)) + rng.uniform(-9, 9, (24, 1))
    noisy = clean + rng.standard_normal(clean.shape) * clean.std(axis=1, keepdims=True) / np.sqrt(10)  # 10 dB
    answers = {e: Runner.load(out, max_batch=16, engine=e).denoise(noisy) for e in ("graph", "xla", "lite", "int8")}
    for e in ("xla", "lite"):
        np.testing.assert_allclose(answers[e], answers["graph"], rtol=0, atol=1e-4, err_msg=e)
    err = {e: float(np.mean((a - clean) ** 2)) for e, a in answers.items()}
    assert err["graph"] < 0.7 * np.mean((noisy - clean) ** 2)  # three tiny epochs already denoise
    assert abs(err["int8"] / err["graph"] - 1) < 0.2


def test_separable_layers_cost_f_k_plus_f_squared_and_bf16_takes_them(tmp_path: Path) -> None:
    from hush.tools.model_timing import mflop_per_window

    plain = dilated_model(150, 64, 7, [1, 2, 4, 8, 16, 1], median_channels=True)
    sep = dilated_model(150, 64, 7, [1, 2, 4, 8, 16, 1], median_channels=True, separable=True)
    kinds = [type(layer).__name__ for layer in sep.layers if "Conv" in type(layer).__name__]
    assert kinds == ["Conv1D"] + ["SeparableConv1D"] * 5 + ["Conv1D"]
    # Five hidden layers: 64*7 + 64*64 weights (+ 64 biases) each instead of 64*64*7 (+ 64).
    assert plain.count_params() - sep.count_params() == 5 * (64 * 64 * 7 - 64 * 7 - 64 * 64)
    sep.save(tmp_path / "sep.keras")
    # Per sample: 3*64*7 (first layer) + 5 * (64*7 + 64*64) + 67*7 (the noise estimate) multiply-adds.
    macs = 3 * 64 * 7 + 5 * (64 * 7 + 64 * 64) + 67 * 7
    assert abs(mflop_per_window(tmp_path / "sep.keras") - 2 * 150 * macs / 1e6) < 1e-9
    half = bf16.variant(sep)
    dtypes = [layer.dtype_policy.compute_dtype for layer in half.layers if "Conv" in type(layer).__name__]
    assert dtypes == ["float32"] + ["bfloat16"] * 5 + ["float32"]
