from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pytest
import zmq

from hush.clients.publisher import Publisher, windows_of
from hush.clients.recording import RecordingError, read_recording, record
from hush.clients.replay import replay_recording
from hush.clients.subscriber import Subscriber
from hush.tools.spawn import free_port


def make_recording(path: Path, n: int) -> np.ndarray:
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    x = np.random.default_rng(0).standard_normal(150 * n)
    rec = threading.Thread(target=record, args=(endpoint, path), kwargs=dict(bind=True, max_messages=n))
    rec.start()
    with Publisher(endpoint, "rec/a", rate=1000.0) as pub:
        pub.wait_connected()
        pub.publish(x, speed=20.0)
    rec.join(30)
    assert not rec.is_alive()
    return x


def test_record_then_replay_sends_the_same_stream(tmp_path: Path) -> None:
    path = tmp_path / "a.hushrec"
    make_recording(path, 12)
    header, records = read_recording(path)
    recs = list(records)
    assert header["format"] == "hush-recording" and len(recs) == 12
    assert all(a.t_recv <= b.t_recv for a, b in zip(recs, recs[1:], strict=False))
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    got: list[list[bytes]] = []
    bound = threading.Event()

    def sink() -> None:  # a bound SUB must be serviced (polled) for its subscription to go out
        ctx = zmq.Context()
        sock = ctx.socket(zmq.SUB)
        sock.setsockopt(zmq.SUBSCRIBE, b"")
        sock.bind(endpoint)
        bound.set()
        while len(got) < 12 and sock.poll(10_000):
            got.append(sock.recv_multipart())
        sock.close(linger=0)
        ctx.term()

    th = threading.Thread(target=sink)
    th.start()
    assert bound.wait(5)
    sent = replay_recording(path, endpoint, speed=0)
    th.join(30)
    assert sent == 12 and got == [[r.topic, r.payload] for r in recs]


def test_replay_through_the_daemon_answers_every_window(server, tiny_runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "b.hushrec"
    x = make_recording(path, 8)
    with Subscriber(server.output_endpoint, "rec/") as sub:
        sub.wait_ready()
        assert replay_recording(path, server.input_endpoint, speed=4.0) == 8
        got: dict[Any, Any] = {}
        while len(got) < 8:
            msg = sub.recv(20)
            assert msg is not None
            got[msg.seq] = msg.samples()
    np.testing.assert_allclose(np.stack([got[i] for i in range(8)]), tiny_runner.denoise(x.reshape(8, 150)),
                               rtol=1e-6, atol=1e-6)


def test_not_a_recording(tmp_path: Path) -> None:
    p = tmp_path / "x.hushrec"
    p.write_bytes(b"\x93\x01\x02\x03")
    with pytest.raises(RecordingError, match="not a hush-recording version 1 file"):
        read_recording(p)
    with pytest.raises(RecordingError, match="recording not found"):
        read_recording(tmp_path / "missing.hushrec")


def test_windows_of_stream_and_array_agree() -> None:
    x = np.arange(1000.0)
    for hop in (50, 150, 200):
        a = [(i, w.tolist()) for i, w in windows_of(x, 150, hop)]
        b = [(i, w.tolist()) for i, w in windows_of(iter(x.tolist()), 150, hop)]
        assert a == b and a[1][0] == hop and a[1][1][0] == hop


def test_record_and_replay_commands(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`hush record` the daemon's output while `hush replay` sends a .npy signal into it."""
    import subprocess
    import sys

    np.save(tmp_path / "sig.npy", np.cos(np.linspace(0, 50, 150 * 5)))
    rec = subprocess.Popen([sys.executable, "-m", "hush.cli", "record", str(tmp_path / "out.hushrec"),
                            "--endpoint", server.output_endpoint, "--prefix", "cli-replay", "--count", "5"],
                           stderr=subprocess.PIPE, text=True)
    assert rec.stderr is not None and "recording" in rec.stderr.readline()  # after the daemon's !ready
    rep = subprocess.run([sys.executable, "-m", "hush.cli", "replay", str(tmp_path / "sig.npy"), "--endpoint",
                          server.input_endpoint, "--stream", "cli-replay", "--rate", "1000", "--speed", "0"],
                         capture_output=True, text=True, timeout=120)
    assert rep.returncode == 0 and "replayed 5 messages" in rep.stderr, rep.stderr
    assert rec.wait(60) == 0
    _, records = read_recording(tmp_path / "out.hushrec")
    got = list(records)
    assert [r.topic for r in got] == [b"cli-replay"] * 5


def test_a_truncated_recording_is_replayed_as_far_as_it_goes_then_named(server, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from hush.cli import main
    from hush.clients.recording import RecordingWriter

    with RecordingWriter(tmp_path / "r.hushrec", "test") as w:
        for seq in range(5):
            w.write(float(seq), b"trunc", msgpack.packb({"seq": seq, "samples": [0.5] * 150}))
    data = (tmp_path / "r.hushrec").read_bytes()
    (tmp_path / "cut.hushrec").write_bytes(data[:-40])  # the capture was cut off inside its last record
    with Subscriber(server.output_endpoint, prefix="trunc") as sub:
        sub.wait_ready()
        assert main(["replay", str(tmp_path / "cut.hushrec"), "--endpoint", server.input_endpoint,
                     "--speed", "0"]) == 2
        got = [sub.recv(10.0) for _ in range(4)]
    assert [m.seq for m in got if m is not None] == [0, 1, 2, 3]
    err = capsys.readouterr().err
    assert "cut.hushrec: truncated: it ends" in err and "after 4 complete records (those were read)" in err


def test_replay_push_feeds_a_pull_daemon_losslessly(tiny_runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from hush.cli import main
    from tests.conftest import running

    np.save(tmp_path / "sig.npy", np.cos(np.linspace(0, 50, 150 * 40)))
    with running(tiny_runner, input_type="pull") as srv, Subscriber(srv.output_endpoint, prefix="pushed") as sub:
        sub.wait_ready()
        assert main(["replay", str(tmp_path / "sig.npy"), "--endpoint", srv.input_endpoint, "--push", "--stream",
                     "pushed", "--rate", "1000", "--speed", "0"]) == 0
        got = [sub.recv(10.0) for _ in range(40)]
    assert sorted(m.seq for m in got if m is not None) == list(range(40))
