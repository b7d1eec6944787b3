"""Write the shipped config.toml from the defaults in hush/config.py, each setting with its help as a comment.
Run in a checkout: `.venv/bin/python -m hush.tools.make_config` (tests/test_config.py keeps the two equal)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from hush import config


def render_toml() -> str:
    """The defaults as a commented TOML file: the shipped config.toml."""

    def fmt(v: Any) -> str:
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        if isinstance(v, bool):
            return "true" if v else "false"
        return repr(v)

    lines = ["# Hush configuration: every setting, with its default and what it does.",
             "# `--config PATH` (or $HUSH_CONFIG) picks another file; command-line flags override it.",
             "# An unknown section or key, or a bad value, is an error that names it.",
             "# Made by `python -m hush.tools.make_config` from the defaults in hush/config.py.", ""]
    for name, cls in config.SECTIONS.items():
        lines.append(f"[{name}]")
        for f in dataclasses.fields(cls):
            lines.append(f"{f.name} = {fmt(getattr(cls(), f.name))}  # {f.metadata['help']}")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    (Path(__file__).resolve().parent.parent / "config.toml").write_text(render_toml())
