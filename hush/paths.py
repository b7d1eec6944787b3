"""Where the shipped files are. The default model and the demo recording are package data (models/ installs
as hush.models, data/ as hush.data), so an installed Hush finds them wherever it runs; in a checkout they
are the repository's own files."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path


def _shipped(package: str, name: str) -> Path:
    # Installed files are plain files (setuptools does not zip), so the path outlives `as_file`.
    with as_file(files(package) / name) as path:
        return Path(path)


DEFAULT_MODEL = _shipped("hush.models", "default.keras")
KEEP_EVENTS_MODEL = _shipped("hush.models", "keep-events.keras")  # keeps one-sample events (docs/quality.md)
DEMO_RECORDING = _shipped("hush.data", "demo.hushrec")
DEMO_REFERENCE = _shipped("hush.data", "demo_clean.npy")
