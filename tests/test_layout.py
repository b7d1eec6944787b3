"""The layout's rules, read from the source: a small core that imports none of its users, packages that
import each other one way only, short functions where the daemon and the trainer do their work, a thin CLI,
and package docstrings that list their files."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests import REPO_ROOT

# Top-level folder -> the name it installs as (pyproject.toml's package-dir).
PACKAGES = {"hush": "hush", "runtime": "hush.runtime", "daemon": "hush.daemon", "trainer": "hush.trainer",
            "clients": "hush.clients", "cli": "hush.cli", "tools": "hush.tools"}
# Issue 11 asked for "at most ~1,000"; config.py grows by a section per command (route, lsl, mqtt).
CORE_MAX_LINES = 1100


def sources(folder: str) -> list[Path]:
    return sorted((REPO_ROOT / folder).rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Every module name `path` imports, at any depth (function-level imports too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


def package_of(module: str) -> str | None:
    """The folder a hush.* module lives in."""
    for folder, name in sorted(PACKAGES.items(), key=lambda kv: -len(kv[1])):
        if module == name or module.startswith(name + "."):
            return folder
    return None


def dependencies() -> dict[str, set[str]]:
    deps: dict[str, set[str]] = {folder: set() for folder in PACKAGES}
    for folder in PACKAGES:
        for path in sources(folder):
            deps[folder] |= {p for m in imported(path) if (p := package_of(m)) and p != folder}
    return deps


def test_the_core_is_small_and_imports_none_of_its_users() -> None:
    lines = sum(len(p.read_text().splitlines()) for p in sources("hush"))
    assert lines <= CORE_MAX_LINES, f"hush/ has {lines} lines"
    assert dependencies()["hush"] == set()


def test_packages_import_each_other_one_way() -> None:
    deps = dependencies()
    assert deps["runtime"] <= {"hush"} and deps["clients"] <= {"hush"}
    assert deps["daemon"] <= {"hush", "runtime"} and deps["trainer"] <= {"hush", "runtime"}
    assert "cli" not in deps["tools"]

    def reaches(a: str, b: str, seen: frozenset[str] = frozenset()) -> bool:
        return b in deps[a] or any(reaches(c, b, seen | {a}) for c in deps[a] - seen)

    loops = [p for p in deps if reaches(p, p)]
    assert not loops, f"import loops through {loops}: {deps}"


@pytest.mark.parametrize("folder", ["daemon", "trainer", "runtime"])
def test_no_function_over_60_lines(folder: str) -> None:
    long = [f"{p.name}:{n.name} ({n.end_lineno - n.lineno + 1})" for p in sources(folder)  # type: ignore[operator]
            for n in ast.walk(ast.parse(p.read_text()))
            if isinstance(n, ast.FunctionDef) and n.end_lineno - n.lineno + 1 > 60]  # type: ignore[operator]
    assert not long


def test_the_core_and_the_clients_load_without_tensorflow() -> None:
    """A machine that only publishes and subscribes needs no TensorFlow at run time."""
    import subprocess
    import sys

    code = ("import sys, hush.protocol, hush.config, hush.modelfile, hush.samples, hush.stitch, hush.paths, "
            "hush.clients.publisher, hush.clients.subscriber, hush.clients.sinks, hush.clients.replay, "
            "hush.clients.recording, hush.clients.control; print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_cli_files_are_thin() -> None:
    assert all(len(p.read_text().splitlines()) < 200 for p in sources("cli"))


@pytest.mark.parametrize("folder", [*PACKAGES, "models", "data"])
def test_package_docstrings_list_their_files(folder: str) -> None:
    init = REPO_ROOT / folder / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text())) or ""
    files = [p.name for p in (REPO_ROOT / folder).iterdir() if p.suffix in (".py", ".keras", ".hushrec", ".npy")
             and p.name not in ("__init__.py", "__main__.py")]
    missing = [f for f in files if f not in doc]
    assert not missing, f"{folder}/__init__.py does not mention {missing}"
