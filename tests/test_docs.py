"""The docs name only commands and flags that exist."""

from __future__ import annotations

import re

import pytest

from hush.cli import parser
from tests import REPO_ROOT

DOCS = ["README.md", "docs/operations.md", "docs/quality.md", "docs/performance.md", "docs/model-format.md",
        "docs/bridges.md"]


def commands_in(path: str) -> list[list[str]]:
    text = (REPO_ROOT / path).read_text()
    found = []
    for block in re.findall(r"```(?:sh|bash)\n(.*?)```", text, re.S):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():  # a line continued with a backslash is one
            line = line.split("#", 1)[0].strip()
            if "hush " in line and not line.startswith(("from", "import", "with", "pub", "sub", "msg")):
                cmd = line[line.index("hush ") + 5:].split("|")[0].split("&")[0].split()
                found.append(cmd)
    return found


@pytest.mark.parametrize("path", DOCS)
def test_documented_commands_parse(path: str) -> None:
    cmds = commands_in(path)
    assert cmds or path == "docs/model-format.md", f"{path}: no hush command found; is the block still ```sh?"
    for cmd in cmds:
        try:
            parser().parse_args(cmd)
        except SystemExit as exc:  # argparse exits on an unknown command or flag
            raise AssertionError(f"{path}: `hush {' '.join(cmd)}` does not parse") from exc
