from __future__ import annotations

from pathlib import Path

import pytest

from hush import config
from hush.config import ConfigError
from hush.tools.make_config import render_toml
from tests import REPO_ROOT


def test_shipped_config_holds_every_default() -> None:
    assert config.load(REPO_ROOT / "config.toml") == config.Config()
    text = (REPO_ROOT / "config.toml").read_text()
    for name, cls in config.SECTIONS.items():
        for f in config.dataclasses.fields(cls):
            assert f"\n{f.name} = " in text, f"[{name}] {f.name} is missing from config.toml"
    assert text == render_toml(), "config.toml is stale: run python -m hush.tools.make_config"


def test_default_model_recipe_steps_load_and_are_in_the_makefile() -> None:
    """The shipped default's later steps (models/recipe/, run by `make default-model`) are valid configs."""
    steps = sorted((REPO_ROOT / "models" / "recipe").glob("*.toml"))
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert steps
    for step in steps:
        train = config.load(step).train
        assert train.loss_floor_db >= train.snr_db_max, step
        assert f"models/recipe/{step.name}" in makefile, f"`make default-model` does not run {step.name}"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("text,message", [
    ("[serve]\nmax_batchh = 3\n", "unknown key 'max_batchh'; expected one of: model,"),
    ("[sevre]\n", "unknown section [sevre]"),
    ("[serve]\nxla = \"on\"\n", "'xla' was replaced by 'engine' (auto, lite, xla or graph): xla = \"on\" is engine"),
    ("[serve]\nengine = \"onnx\"\n",
     "engine must be one of 'auto', 'lite', 'xla', 'graph', 'int8', 'bf16', got 'onnx'"),
    ("[serve]\nmax_batch = 0\n", "max_batch must be an integer >= 1 <= 4096, got 0"),
    ("[serve]\nmax_batch = 2.5\n", "max_batch must be an integer >= 1 <= 4096, got 2.5"),
    ("[serve]\nmax_wait_ms = \"2\"\n", "max_wait_ms must be a number >= 0.0 <= 10000.0, got '2'"),
    ("[serve]\ninput_mode = \"listen\"\n", "input_mode must be one of 'bind', 'connect', got 'listen'"),
    ("[train]\nfamilies = [\"sines\", \"noise\"]\n", "families must be a list of 'sines'"),
    ("[train]\nsnr_db_min = 20\nsnr_db_max = 10\n", "snr_db_min (20.0) must be <= snr_db_max (10.0)"),
    ("[train]\nmix_kinds = [\"pink\", \"hum\"]\n", "mix_kinds must include white (the mix's floor)"),
    ("[serve\n", "not valid TOML"),
])
def test_bad_config_names_key_value_and_place(tmp_path: Path, text: str, message: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.load(p)
    assert message in str(info.value)
    assert str(p) in str(info.value)


def test_file_overrides_defaults_and_flags_override_file(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, "[serve]\nmax_batch = 8\nmax_wait_ms = 5\n"))
    assert cfg.serve.max_batch == 8 and cfg.serve.max_wait_ms == 5.0 and cfg.serve.hwm == 100_000
    flagged = config.override(cfg.serve, {"max_batch": 32, "max_wait_ms": None})
    assert flagged.max_batch == 32 and flagged.max_wait_ms == 5.0
    with pytest.raises(ConfigError, match=r"command line --max-batch: max_batch must be .* got -1"):
        config.override(cfg.serve, {"max_batch": -1})


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(tmp_path / "nope.toml")
