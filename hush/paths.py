"""Where the shipped files are: the repository that holds this package (an editable install)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO_ROOT / "models" / "default.keras"
DEMO_RECORDING = REPO_ROOT / "data" / "demo.hushrec"
DEMO_REFERENCE = REPO_ROOT / "data" / "demo_clean.npy"
