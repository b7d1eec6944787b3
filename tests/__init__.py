"""Hush tests; they mirror the packages (daemon/, trainer/, clients/ and the core at the top level)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent  # the checkout: data/, config.toml, docs/
