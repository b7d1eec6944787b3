"""The whole path, as a user runs it: `hush serve` as its own process with a real tiny model; input
through the `hush publish` CLI and the Publisher API; output through the `hush subscribe` CLI and the
Subscriber API; values checked against the same model, in the input's units; SIGTERM exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from hush.clients.publisher import Publisher
from hush.clients.subscriber import Subscriber
from hush.tools.spawn import DaemonProcess

HUSH = [sys.executable, "-m", "hush.cli"]


def test_serve_publish_subscribe_cli_and_api(tiny_model: Path, tiny_runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    daemon = DaemonProcess(tiny_model, flags=["--max-batch", "8"], log=tmp_path / "serve.log").start(None)
    inp, out = daemon.input, daemon.output
    try:
        rng = np.random.default_rng(5)
        signal_cli = 300.0 + 20 * np.sin(np.linspace(0, 30, 150 * 6)) + 2 * rng.standard_normal(900)
        signal_api = -4.0 + 0.1 * np.sin(np.linspace(0, 9, 150 * 4)) + 0.01 * rng.standard_normal(600)
        np.save(tmp_path / "cli.npy", signal_cli)
        with Subscriber(out) as api_sub:
            hello = api_sub.wait_ready(120)  # the daemon loads TensorFlow and the model first
            assert hello["window"] == 150
            cli_sub = subprocess.Popen(HUSH + ["subscribe", "--endpoint", out, "--prefix", "cli/", "--count", "6",
                                               "--out", str(tmp_path / "got.npy")], stderr=subprocess.PIPE, text=True)
            assert cli_sub.stderr is not None
            assert "subscribed to" in cli_sub.stderr.readline()  # printed once its subscription is confirmed
            pub = subprocess.run(HUSH + ["publish", str(tmp_path / "cli.npy"), "--endpoint", inp, "--stream",
                                         "cli/a", "--rate", "100", "--form", "array"],
                                 capture_output=True, text=True, timeout=120)
            assert pub.returncode == 0, pub.stderr
            assert "published 6 windows" in pub.stderr
            with Publisher(inp, "api/b", form="bin-f4") as p:
                p.wait_connected(30)
                p.publish(signal_api)
            got: dict[str, list[np.ndarray]] = {"cli/a": [], "api/b": []}
            while sum(map(len, got.values())) < 10:
                msg = api_sub.recv(30)
                assert msg is not None and not msg.is_error
                got[msg.topic].append(msg.samples())
            assert cli_sub.wait(60) == 0
            assert "received 6 windows, 0 errors" in cli_sub.stderr.read()
        cli_got = np.load(tmp_path / "got.npy")
    finally:
        code = daemon.stop()
    assert code == 0, (tmp_path / "serve.log").read_text()
    want_cli = tiny_runner.denoise(signal_cli.reshape(-1, 150))
    want_api = tiny_runner.denoise(signal_api.reshape(-1, 150))
    np.testing.assert_allclose(cli_got, want_cli, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(np.stack(got["cli/a"]), want_cli, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(np.stack(got["api/b"]), want_api, rtol=1e-4, atol=1e-4)
    assert abs(cli_got.mean() - 300) < 5 and abs(np.stack(got["api/b"]).mean() + 4) < 0.1  # input's units
    text = (tmp_path / "serve.log").read_text()
    assert "serving model tiny-" in text and "stopped: windows in 10 out 10" in text
