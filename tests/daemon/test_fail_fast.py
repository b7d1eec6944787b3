"""`hush serve` starts or fails fast (issue 14): a port in use, a malformed endpoint, a busy metrics port or a
missing model file is named in one line and exits before the model loads (measured: 0.3 s here; the bound
below is loose so a slow machine does not fail it)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hush.tools.spawn import free_port


def serve(*flags: str) -> tuple[int, str, float]:
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "hush.cli", "serve", *flags], capture_output=True, text=True,
                       timeout=60)
    return r.returncode, r.stderr, time.monotonic() - t0


@pytest.mark.parametrize("what", ["input", "output", "control"])
def test_a_port_in_use_is_named(what: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        endpoints = {"input": f"tcp://127.0.0.1:{free_port()}", "output": f"tcp://127.0.0.1:{free_port()}",
                     "control": f"tcp://127.0.0.1:{free_port()}", what: f"tcp://127.0.0.1:{port}"}
        code, err, took = serve(*[x for k, v in endpoints.items() for x in (f"--{k}", v)])
    assert code == 1 and f"cannot bind the {what} socket to tcp://127.0.0.1:{port}: Address already in use" in err
    assert "tensorflow" not in err.lower() and took < 20


def test_a_busy_metrics_port_and_a_malformed_endpoint() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, err, _ = serve("--input", f"tcp://127.0.0.1:{free_port()}", "--output",
                             f"tcp://127.0.0.1:{free_port()}", "--metrics-port", str(port))
    assert code == 1 and f"cannot serve /metrics on 127.0.0.1:{port} (metrics_port): Address already in use" in err
    code, err, _ = serve("--input", "127.0.0.1:5555")
    assert code == 1 and "endpoints look like tcp://127.0.0.1:5555" in err


def test_a_missing_model_is_named_before_anything_loads(tmp_path: Path) -> None:
    code, err, took = serve("--model", str(tmp_path / "nope.keras"), "--input", f"tcp://127.0.0.1:{free_port()}",
                            "--output", f"tcp://127.0.0.1:{free_port()}")
    assert code == 2 and f"model file not found: {tmp_path / 'nope.keras'}" in err and took < 20
