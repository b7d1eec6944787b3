"""`hush subscribe` never writes a silently wrong file (issue 15, items 1 and 2): a --hop that the stream's
t and rate contradict is refused, the hop is read from the stream when not given, and several streams
into one .npy become one file per stream, with nothing mixed or dropped. Real daemon, real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from hush.clients.publisher import Publisher

X = np.sin(np.linspace(0, 20, 3000)) * 3 + 0.3 * np.random.default_rng(4).standard_normal(3000)


def subscribe(server: Any, *flags: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "hush.cli", "subscribe", "--endpoint", server.output_endpoint,
                             "--idle-timeout", "3", *flags], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None and "subscribed to" in proc.stderr.readline()
    return proc


def publish(server: Any, stream: str, hop: int, x: np.ndarray = X) -> int:
    with Publisher(server.input_endpoint, stream, rate=100.0) as pub:
        pub.wait_connected()
        return pub.publish(x, hop=hop)


def test_a_hop_the_stream_contradicts_is_refused_loudly(server: Any, tmp_path: Path) -> None:
    sub = subscribe(server, "--prefix", "h1/", "--stitch", "--hop", "75", "--out", str(tmp_path / "s.npy"))
    publish(server, "h1/a", hop=150)
    assert sub.wait(60) == 2
    assert "its windows start every 150 samples" in sub.stderr.read()  # type: ignore[union-attr]
    assert not (tmp_path / "s.npy").exists()


def test_the_hop_is_read_from_the_stream_when_not_given(server: Any, tiny_runner: Any, tmp_path: Path) -> None:
    sub = subscribe(server, "--prefix", "h2/", "--stitch", "--out", str(tmp_path / "s.npy"))
    assert publish(server, "h2/a", hop=75) == (3000 - 150) // 75 + 1
    assert sub.wait(60) == 0, sub.stderr.read()  # type: ignore[union-attr]
    got = np.load(tmp_path / "s.npy")
    assert got.shape == (3000,)
    assert np.sqrt(np.mean((got - X) ** 2)) < 1.0  # the signal, not a folded copy of it


def test_several_streams_into_npy_become_one_file_each(server: Any, tmp_path: Path) -> None:
    for stitch in ((), ("--stitch",)):
        out = tmp_path / f"m{len(stitch)}.npy"
        sub = subscribe(server, "--prefix", "two/", *stitch, "--out", str(out))
        publish(server, "two/a", hop=150, x=X[:1500])
        publish(server, "two/b", hop=150, x=-X[:1500])
        assert sub.wait(60) == 0, sub.stderr.read()  # type: ignore[union-attr]
        a, b = np.load(out.with_name(f"{out.stem}.two_a.npy")), np.load(out.with_name(f"{out.stem}.two_b.npy"))
        assert a.size == b.size == 1500 and not out.exists()
        assert np.corrcoef(a.reshape(-1), b.reshape(-1))[0, 1] < -0.9  # each file holds its own stream
