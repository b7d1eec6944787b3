"""An installed Hush works outside the repository: a wheel built from this checkout, installed (not editable)
into an empty folder, runs `hush demo` (serve, replay, subscribe) from another directory with the model and
recording it carries as package data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests import REPO_ROOT


def test_a_wheel_installed_elsewhere_serves_its_own_model_and_demo(tmp_path: Path) -> None:
    wheels, target, elsewhere = tmp_path / "wheels", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Built from a copy: setuptools leaves build/ in the source tree, and a stale one would end up in the wheel.
    source = tmp_path / "source"
    shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__",
                                                                     "*-out", "ecg-cases"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)], check=True, timeout=600)
    (wheel,) = wheels.glob("hush-*.whl")
    # The dependencies are this environment's; the package itself only the wheel's copy, first on the path.
    subprocess.run([*pip, "install", "-q", "--no-deps", "--target", str(target), str(wheel)], check=True,
                   timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run([sys.executable, "-c", "import hush, hush.paths as p; print(hush.__file__); "
                            "print(p.DEFAULT_MODEL); print(p.DEMO_RECORDING)"], cwd=elsewhere, env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(w).is_relative_to(target) for w in where), where
    demo = subprocess.run([sys.executable, "-m", "hush.cli", "demo", "--out-dir", "out"], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "received 60/60 denoised windows" in demo.stdout and "demo succeeded" in demo.stdout
    assert (elsewhere / "out" / "demo.png").is_file()
