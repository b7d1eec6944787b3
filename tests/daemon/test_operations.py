"""Running Hush for months: overload, lossless input, sequence gaps, reload, metrics, CURVE,
kill -9 and restart, scale-out. Real sockets on loopback throughout."""

from __future__ import annotations

import json
import signal
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pytest
import zmq

from hush.clients.control import request
from hush.clients.publisher import Publisher
from hush.clients.security import make_keys
from hush.clients.subscriber import Subscriber
from hush.errors import NotConnected
from hush.tools.spawn import DaemonProcess, free_port, loopback
from tests.conftest import running, serving


class SlowRunner:
    """A fake model that takes 20 ms a batch: makes overload certain, to test the drop rule."""

    window, scaling, model_id, max_batch = 150, "standardize", "slow", 2

    def denoise(self, x: np.ndarray) -> np.ndarray:
        time.sleep(0.02)
        return x


def collect(sub: Subscriber, n: int, timeout_s: float = 30.0) -> list[Any]:
    got: list[Any] = []
    while len(got) < n and (msg := sub.recv(timeout_s)) is not None:
        got.append(msg)
    return got


def test_overload_drops_the_newest_and_the_counters_reconcile() -> None:
    with serving(SlowRunner(), "flood", max_batch=2, queue_batches=2) as (srv, sub, pub):
        for _ in range(300):
            pub.send(np.ones(150))
        got = collect(sub, 300)
        pub.send(np.ones(150))  # seq 300, after the drops: served, and the drops before it are not gaps
        assert [m.seq for m in collect(sub, 1)] == [300]
        stats = srv.counters()
    answered = sorted(m.seq for m in got if not m.is_error)
    dropped = sorted(m.seq for m in got if m.is_error)
    assert all(m.body["error"] == "overloaded" for m in got if m.is_error)
    assert answered and dropped and sorted(answered + dropped) == list(range(300))  # one answer each
    assert stats["received"] == 301 == stats["messages_out"] + sum(stats["errors"].values())
    assert stats["dropped"] == len(dropped) and stats["errors"] == {"overloaded": len(dropped)}
    assert stats["seq_gaps"] == 0  # the daemon's own drops are answered, not reported as lost on the way


def test_one_stream_flooding_loses_its_own_windows_not_the_others() -> None:
    """A stream sending ten times what the model can do, while five others send a window every 100 ms: every
    window of the five is denoised; the flood's are answered `overloaded` (per-stream admission)."""
    import threading

    from hush.clients.publisher import Publisher

    with serving(SlowRunner(), "hot", max_batch=2, queue_batches=4, max_queue_ms=0.0) as (srv, sub, hot):
        quiet = [Publisher(srv.input_endpoint, f"quiet{i}") for i in range(5)]
        for p in quiet:
            p.wait_connected()
        stop, sent = threading.Event(), [0]

        def flood() -> None:
            while not stop.is_set():
                hot.send(np.ones(150))
                sent[0] += 1
                time.sleep(0.001)  # ~1,000 windows/s against the model's 100

        th = threading.Thread(target=flood)
        th.start()
        time.sleep(0.3)  # the queue is full of the flood before the others start
        for _ in range(20):
            for p in quiet:
                p.send(np.ones(150))
            time.sleep(0.1)
        stop.set()
        th.join()
        got = collect(sub, sent[0] + 100)
        for p in quiet:
            p.close()
    by_stream: dict[str, list[Any]] = {}
    for m in got:
        by_stream.setdefault(m.topic.removeprefix("!error/"), []).append(m)
    assert len(got) == sent[0] + 100  # one answer each
    for i in range(5):
        answers = by_stream[f"quiet{i}"]
        assert len(answers) == 20 and not [m.body for m in answers if m.is_error]
    hot_errors = [m for m in by_stream["hot"] if m.is_error]
    assert len(hot_errors) > sent[0] // 2 and all(m.body["error"] == "overloaded" for m in hot_errors)
    assert any("made room for another stream" in m.body["detail"] for m in hot_errors)


def test_windows_that_waited_too_long_are_dropped_not_run_late() -> None:
    # A queue long enough to hold the whole flood; only the age limit can drop. 20 ms per batch of 2.
    with serving(SlowRunner(), "late", max_batch=2, queue_batches=500, max_queue_ms=100.0) as (srv, sub, pub):
        for _ in range(100):
            pub.send(np.ones(150))
        got = collect(sub, 100)
        stats = srv.counters()
    answered = [m for m in got if not m.is_error]
    late = [m for m in got if m.is_error]
    assert sorted(m.seq for m in got) == list(range(100))  # one answer each
    assert answered and late and all(m.body["error"] == "overloaded" for m in late)
    assert "max_queue_ms" in late[0].body["detail"]
    assert stats["dropped"] == len(late) and stats["errors"] == {"overloaded": len(late)}
    assert stats["received"] == 100 == stats["messages_out"] + len(late)


def test_pull_input_holds_senders_back_and_loses_nothing() -> None:
    with running(SlowRunner(), input_type="pull", max_batch=2, queue_batches=2) as srv, \
            Subscriber(srv.output_endpoint) as sub, Publisher(srv.input_endpoint, "batch-job", push=True) as pub:
        sub.wait_ready()
        for _ in range(120):
            pub.send(np.ones(150))
        got = collect(sub, 120)
    assert sorted(m.seq for m in got) == list(range(120)) and not any(m.is_error for m in got)


def test_sequence_gaps_are_counted(tiny_runner) -> None:  # type: ignore[no-untyped-def]
    with serving(tiny_runner, "gappy") as (srv, sub, pub):
        for seq in (0, 1, 5, 6, 9):
            pub.seq = seq
            pub.send(np.ones(150))
        collect(sub, 5)
    assert srv.stats.seq_gaps == {"gappy": 5}  # 2, 3, 4 and 7, 8


def _with_id(src: Path, dst: Path, new_id: str) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "hush.json":
                data = json.dumps({**json.loads(data), "id": new_id}).encode()
            zout.writestr(item, data)
    return dst


def test_reload_by_control_command_and_sighup(tiny_model: Path, tiny_runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    second = _with_id(tiny_model, tmp_path / "second.keras", "second-model")
    junk = tmp_path / "junk.keras"
    junk.write_text("not a model")
    port = free_port()
    with serving(tiny_runner, "r", control=f"tcp://127.0.0.1:{port}", model=str(second)) as (srv, sub, pub):
        def ctl(cmd: str, **args: Any) -> dict[str, Any]:
            return request(srv.control_endpoint, cmd, 60.0, **args)

        pub.send(np.ones(150))
        assert collect(sub, 1)[0].body["model"] == tiny_runner.model_id
        bad = ctl("reload", model=str(junk))
        assert not bad["ok"] and "not a .keras archive" in bad["detail"]
        pub.send(np.ones(150))
        assert collect(sub, 1)[0].body["model"] == tiny_runner.model_id  # the old model kept serving
        srv.handle_signal(signal.SIGHUP, None)  # reloads the configured model: second.keras
        deadline = time.monotonic() + 60
        while srv.stats.reloads["ok"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        pub.send(np.ones(150))
        assert collect(sub, 1)[0].body["model"] == "second-model"
        stats = ctl("stats")
        assert stats["ok"] and stats["reloads"] == {"refused": 1, "ok": 1} and stats["model"] == "second-model"
        with pytest.raises(ValueError, match="control command must be one of"):
            ctl("explode")  # the client refuses it; the daemon refuses it too:
        raw: zmq.Socket = zmq.Context.instance().socket(zmq.REQ)
        raw.connect(srv.control_endpoint)
        raw.send(msgpack.packb({"cmd": "explode"}))
        assert raw.poll(60_000)
        reply = msgpack.unpackb(raw.recv())
        raw.close(linger=0)
        assert not reply["ok"] and "unknown command 'explode'" in reply["detail"]


def test_metrics_endpoint(tiny_runner) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    with serving(tiny_runner, "m", metrics_port=port) as (srv, sub, pub):
        for _ in range(3):
            pub.send(np.ones(150))
        pub.sock.send_multipart([b"m", b"\xc1"])
        collect(sub, 4)
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    assert "hush_windows_in_total 3.0" in text and "hush_windows_out_total 3.0" in text
    assert 'hush_errors_total{code="bad_msgpack"} 1.0' in text and "hush_ready 1.0" in text
    assert f'hush_model_info{{id="{tiny_runner.model_id}",window="150"}} 1.0' in text
    assert 'hush_latency_seconds_bucket{le="+Inf"} 3.0' in text and "hush_batch_windows_count" in text


def test_curve_lets_in_only_known_keys(tiny_runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, server_secret = make_keys(tmp_path / "server", "server")
    sensor_public, sensor_secret = make_keys(tmp_path / "clients", "sensor")
    _, intruder_secret = make_keys(tmp_path / "intruders", "intruder")
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    sensor_public.rename(allowed / sensor_public.name)
    server_public = str(tmp_path / "server" / "server.key")
    good = (str(sensor_secret), server_public)
    evil = (str(intruder_secret), server_public)
    with running(tiny_runner, curve_secret_key=str(server_secret), curve_clients_dir=str(allowed)) as srv:
        with Subscriber(srv.output_endpoint, curve=good) as sub, \
                Publisher(srv.input_endpoint, "secure", curve=good) as pub, \
                Publisher(srv.input_endpoint, "intruder", curve=evil) as bad_pub:
            sub.wait_ready()
            pub.wait_connected()
            with pytest.raises(TimeoutError):
                bad_pub.wait_connected(1.0)  # the handshake is refused: no subscription ever arrives
            bad_pub.sock.send_multipart([b"intruder", msgpack.packb({"seq": 0, "samples": [0.0] * 150})])
            pub.send(np.ones(150))
            got = collect(sub, 1) + collect(sub, 1, timeout_s=2.0)  # the answer, then nothing more
        assert [m.topic for m in got] == ["secure"]
        with Subscriber(srv.output_endpoint, curve=evil) as spy, pytest.raises(TimeoutError):
            spy.wait_ready(1.0)
    assert srv.stats.received == 1


def test_kill_9_and_restart_on_the_same_endpoints(tiny_model: Path, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    first = DaemonProcess(tiny_model, loopback(stable=True), loopback(stable=True), log=log).start(None)
    with first, Subscriber(first.output) as sub, Publisher(first.input, "k9") as pub:
        sub.wait_ready(120)
        pub.wait_connected(60)
        pub.send(np.ones(150))
        assert [m.seq for m in collect(sub, 1)] == [0]
        first.kill()  # SIGKILL: no goodbye
        with DaemonProcess(tiny_model, first.input, first.output, log=log).start(None) as second:
            try:
                sub.wait_ready(120)  # the same sockets, reconnected by ZeroMQ, hear the new daemon's hello
                pub.wait_connected(60)  # and the new daemon's subscription
            except NotConnected as exc:
                code = second.proc.poll() if second.proc else None
                raise AssertionError(f"{exc}; the second daemon's exit code: {code}; its log ends:\n"
                                     + "\n".join(log.read_text().splitlines()[-15:])) from None
            pub.send(np.ones(150))
            assert [m.seq for m in collect(sub, 1)] == [1]
            assert second.stop() == 0


def test_two_daemons_share_one_input(tiny_runner) -> None:  # type: ignore[no-untyped-def]
    """Scale-out on ZeroMQ itself: a PUSH socket fans windows out to two daemons' PULL inputs."""
    from zmq.utils.monitor import recv_monitor_message

    port = free_port()
    with Publisher(f"tcp://127.0.0.1:{port}", "fan", push=True, bind=True) as pub:
        monitor = pub.sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        with running(tiny_runner, input=f"tcp://127.0.0.1:{port}", input_mode="connect", input_type="pull") as a, \
                running(tiny_runner, input=f"tcp://127.0.0.1:{port}", input_mode="connect", input_type="pull") as b, \
                Subscriber(a.output_endpoint) as sub:
            sub.sock.connect(b.output_endpoint)
            sub.wait_ready()
            sub.wait_ready()  # one hello from each daemon
            for _ in range(2):  # both daemons' PULL sockets are connected, so PUSH spreads over both
                assert monitor.poll(30_000)
                recv_monitor_message(monitor)
            for _ in range(400):
                pub.send(np.ones(150))
            got = collect(sub, 400)
        pub.sock.disable_monitor()
        monitor.close(linger=0)
    assert sorted(m.seq for m in got) == list(range(400))  # complete, no duplicates
    assert a.stats.windows_in > 0 and b.stats.windows_in > 0 and a.stats.windows_in + b.stats.windows_in == 400


def test_sigterm_with_a_full_queue_publishes_everything_then_exits_0(tiny_model: Path, tmp_path: Path) -> None:
    """A real process, a real SIGTERM, 40 windows held back by a 10 s batching wait."""
    ctl = loopback()
    daemon = DaemonProcess(tiny_model, flags=["--max-batch", "1000", "--max-wait-ms", "10000", "--control", ctl],
                           log=tmp_path / "serve.log")
    with daemon.start(None), Subscriber(daemon.output) as sub, Publisher(daemon.input, "term") as pub:
        sub.wait_ready(120)
        pub.wait_connected(60)
        for _ in range(40):
            pub.send(np.ones(150))
        while (stats := request(ctl, "stats", 30.0))["windows_in"] < 40:  # none is due for 10 s
            time.sleep(0.05)
        assert stats["windows_out"] == 0 and stats["queue"] == 40
        t0 = time.monotonic()
        daemon.terminate()
        got = collect(sub, 40)
        code = daemon.stop(30)
    assert code == 0 and time.monotonic() - t0 < 30
    assert sorted(m.seq for m in got) == list(range(40)) and not any(m.is_error for m in got)
