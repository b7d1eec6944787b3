"""`hush publish` loses nothing silently (issue 15, items 3 and 4): the tail that fills no window is named
or sent padded, a window length the daemon would reject is refused before sending, windows the daemon
rejects are counted, and one garbled line on a live pipe is skipped with a warning instead of ending it."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hush.cli import main
from tests.conftest import running

X = np.sin(np.linspace(0, 30, 3050)) * 4 + 0.2 * np.random.default_rng(7).standard_normal(3050)


def pub(server: Any, *flags: str) -> list[str]:
    return ["publish", "--endpoint", server.input_endpoint, "--output", server.output_endpoint, *flags]


def test_the_tail_is_named_or_sent_padded(server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "x.npy", X)
    assert main(pub(server, str(tmp_path / "x.npy"), "--stream", "t1")) == 0
    err = capsys.readouterr().err
    assert "published 20 windows" in err and "the last 50 samples fill no whole window" in err
    sub = subprocess.Popen([sys.executable, "-m", "hush.cli", "subscribe", "--endpoint", server.output_endpoint,
                            "--prefix", "t2", "--stitch", "--idle-timeout", "3", "--out", str(tmp_path / "s.npy")],
                           stderr=subprocess.PIPE, text=True)
    assert sub.stderr is not None and "subscribed to" in sub.stderr.readline()
    assert main(pub(server, str(tmp_path / "x.npy"), "--stream", "t2", "--rate", "100", "--tail", "pad")) == 0
    assert "published 21 windows" in capsys.readouterr().err
    assert sub.wait(60) == 0, sub.stderr.read()
    got = np.load(tmp_path / "s.npy")
    assert got.shape == (3050,)  # every sample, the filler trimmed off again
    assert np.sqrt(np.mean((got[-50:] - X[-50:]) ** 2)) < 1.5


def test_a_window_the_daemon_would_reject_is_refused_before_sending(server: Any, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "x.npy", X)
    assert main(pub(server, str(tmp_path / "x.npy"), "--stream", "w", "--window", "100")) == 2
    assert "serves windows of 150 samples: every window of --window 100 would be rejected" in capsys.readouterr().err
    assert server.counters()["received"] == 0


class SlowRunner:
    """A fake model that takes 50 ms a batch: an overload is certain (a rule under test, not the model)."""

    window, scaling, model_id, max_batch = 150, "standardize", "slow", 2

    def denoise(self, x: np.ndarray) -> np.ndarray:
        time.sleep(0.05)
        return x


def test_windows_the_daemon_rejects_are_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "x.npy", X)
    with running(SlowRunner(), max_batch=2, queue_batches=1, max_queue_ms=0.0) as srv:  # 2 windows wait at most
        assert main(pub(srv, str(tmp_path / "x.npy"), "--stream", "k")) == 1
        dropped = srv.counters()["dropped"]
    err = capsys.readouterr().err
    assert dropped > 0 and f"the daemon rejected {dropped} of them: overloaded x{dropped}" in err


def test_a_bad_line_on_a_live_pipe_is_skipped_and_counted(server: Any, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    lines = [f"{v}\n" for v in X[:300]]
    lines.insert(100, "abc\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(lines)))
    assert main(pub(server, "--stream", "live")) == 0
    err = capsys.readouterr().err
    assert "warning: skipped stdin line 101: 'abc' is not a number" in err and "published 2 windows" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(lines)))
    assert main(pub(server, "--stream", "live2", "--bad-lines", "stop")) == 2
    assert "stdin line 101: 'abc' is not a number" in capsys.readouterr().err
