"""What the commands say (issue 15, item 10): JSON logs hold only JSON (TensorFlow's own lines too), an idle
daemon does not repeat itself, the start line names the metrics port, Ctrl-C says what was done, and an
unknown flag is reported with its command's usage. Real processes, real signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hush.cli import main
from hush.tools.spawn import DaemonProcess, free_port

HUSH = [sys.executable, "-u", "-m", "hush.cli"]


def test_json_logs_are_json_only_and_say_enough(tiny_model: Path, tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("[serve]\nstats_interval_s = 0.2\n")
    port = free_port()
    daemon = DaemonProcess(tiny_model, flags=["--config", str(tmp_path / "c.toml"), "--log-format", "json",
                                              "--metrics-port", str(port)], log=tmp_path / "serve.log")
    with daemon.start():
        time.sleep(2.0)  # ten summary intervals, idle
    lines = (tmp_path / "serve.log").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is JSON
    assert any(r["logger"] == "native" for r in records)  # TensorFlow's start-up lines, wrapped
    start = next(r["msg"] for r in records if r["msg"].startswith("serving model"))
    assert f"metrics http://127.0.0.1:{port}/metrics" in start
    assert sum(r["msg"].startswith("windows in 0 out 0") for r in records) <= 1  # idle: said once


def test_an_unknown_flag_shows_its_commands_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["serve", "--bogus"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: hush serve" in err and "unrecognized arguments: --bogus" in err


def interrupt(cmd: list[str], ready: str = "", after_s: float = 3.0,
              env: dict[str, str] | None = None) -> tuple[int, str]:
    """Start `cmd`, wait for `ready` in its output (or `after_s`), send SIGINT (Ctrl-C); its exit code and
    everything it printed."""
    # Ctrl-C as at a terminal, even when these tests run in the background (where SIGINT is inherited ignored)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout is not None
    said = []
    if ready:
        for line in proc.stdout:
            said.append(line)
            if ready in line:
                break
    time.sleep(after_s)
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=120)
    return proc.returncode, "".join(said) + rest


def test_ctrl_c_says_what_was_sent(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    np.save(tmp_path / "x.npy", np.sin(np.linspace(0, 100, 150 * 200)))
    code, said = interrupt(HUSH + ["publish", str(tmp_path / "x.npy"), "--endpoint", server.input_endpoint,
                                   "--output", server.output_endpoint, "--rate", "1500", "--speed", "1"])
    assert code == 130 and "interrupted: published" in said
    code, said = interrupt(HUSH + ["replay", str(tmp_path / "x.npy"), "--endpoint", server.input_endpoint,
                                   "--rate", "1500", "--speed", "1"])
    assert code == 130 and "interrupted: replayed" in said


@pytest.mark.parametrize("ready", ["model:", "epoch 2:"])
def test_ctrl_c_in_training_says_nothing_was_written(tmp_path: Path, ready: str) -> None:
    """Ctrl-C right after the model line (TensorFlow still tracing the step function, on a slow machine) and
    once training runs: either way the run stops and says so (trainer/ctrl_c.py). Python buffers the pipe as
    it would `hush train | tee log`: each line must still come when it is printed."""
    out = tmp_path / "m.keras"
    small = Path(__file__).parent / "trainer" / "small.toml"
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    code, said = interrupt([sys.executable, "-m", "hush.cli", "train", "--config", str(small), "--n-windows",
                            "12000", "--epochs", "50", "--out", str(out)], ready, 0.0, buffered)
    assert code == 130 and f"interrupted: {out} was not written" in said and not out.exists(), said[-3000:]
    assert "Traceback" not in said


def test_training_stopped_by_ctrl_c_resumes_from_its_last_finished_epoch(tmp_path: Path) -> None:
    out, ck = tmp_path / "m.keras", tmp_path / "ck"
    cmd = HUSH + ["train", "--config", str(Path(__file__).parent / "trainer" / "small.toml"), "--n-windows", "12000",
                  "--epochs", "6", "--out", str(out), "--checkpoint-dir", str(ck)]
    code, said = interrupt(cmd, "epoch 2:", 0.0)
    assert code == 130 and f"the last finished epoch is saved in {ck}" in said and not out.exists(), said[-3000:]
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and out.exists(), again.stdout[-2000:] + again.stderr[-2000:]
    assert f"resuming from the checkpoint in {ck}: epoch" in again.stdout and "\nepoch 1:" not in again.stdout


def test_progress_shows_on_a_terminal_and_not_in_a_pipe(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import fcntl
    import os
    import pty
    import struct
    import termios

    np.save(tmp_path / "x.npy", np.sin(np.linspace(0, 100, 150 * 40)))
    cmd = HUSH + ["publish", str(tmp_path / "x.npy"), "--endpoint", server.input_endpoint, "--output",
                  server.output_endpoint]
    piped = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and "windows/s" not in piped.stderr and "%|" not in piped.stderr
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 wide
    on_tty = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=follower, timeout=120)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal's other end is closed: all read
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert on_tty.returncode == 0 and b"| 0/40 [" in shown and b"published 40 windows" in shown
