"""The bridges (issue 17) end to end through the shipped model: a real LSL outlet in this process, a real
MQTT broker on loopback, a real daemon, the cleaned signal read back and scored."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import numpy as np
import pytest

from hush.config import LslConfig
from hush.paths import DEFAULT_MODEL
from tests import REPO_ROOT
from tests.conftest import running

RATE = 360.0


@pytest.fixture(scope="module")
def shipped_runner() -> Any:
    from hush.runtime.runner import Runner

    return Runner.load(DEFAULT_MODEL, max_batch=16, engine="graph", workers=1)


def snr_db(clean: np.ndarray, x: np.ndarray) -> float:
    return float(10 * np.log10(np.var(clean) / np.mean((x - clean) ** 2)))


def noisy_ecg(n: int, snr: float = 10.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    clean = np.load(REPO_ROOT / "data" / "ecg_mitbih208.npy")[:n].astype(np.float64)
    noise = np.random.default_rng(seed).standard_normal(n) * np.sqrt(np.var(clean) / 10 ** (snr / 10))
    return clean, clean + noise


def in_thread(target: Any) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = target()
        except BaseException as exc:  # reported by the test
            result["error"] = exc

    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th, result


def start_lsl_bridge(srv: Any, name: str, **settings: Any) -> tuple[Any, threading.Thread, dict[str, Any], Any]:
    """A bridge on the outlet `name` in a thread, and an inlet on its cleaned outlet, open."""
    import pylsl

    from hush.clients.lsl import LslBridge

    cfg = LslConfig(name=name, input=srv.input_endpoint, output=srv.output_endpoint, resolve_timeout_s=15.0,
                    **settings)
    bridge = LslBridge(cfg, say=lambda s: None)
    th, result = in_thread(bridge.run)
    found = pylsl.resolve_byprop("name", name + "-hush", 1, 30.0)
    assert found, f"no cleaned outlet appeared: {result.get('error')}"
    inlet = pylsl.StreamInlet(found[0])
    inlet.open_stream(10.0)
    return bridge, th, result, inlet


def test_lsl_bridge_cleans_a_live_outlet_keeping_channels_metadata_and_timestamps(shipped_runner: Any) -> None:
    import pylsl


    n = 150 * 48
    clean, noisy = noisy_ecg(n)
    clean2 = 2 * np.sin(2 * np.pi * 1.3 * np.arange(n) / RATE)
    noisy2 = clean2 + 0.3 * np.random.default_rng(1).standard_normal(n)
    name = f"hush-test-{uuid.uuid4().hex[:8]}"
    info = pylsl.StreamInfo(name, "ECG", 2, RATE, "float32", name + "-src")
    chans = info.desc().append_child("channels")
    for label in ("MLII", "sine"):
        chans.append_child("channel").append_child_value("label", label)
    info.desc().append_child_value("manufacturer", "Hush tests")
    outlet = pylsl.StreamOutlet(info)
    with running(shipped_runner, max_wait_ms=1.0) as srv:
        bridge, th, result, inlet = start_lsl_bridge(srv, name, hop=75)
        stamps = pylsl.local_clock() + np.arange(n) / RATE
        for i in range(0, n, 360):  # a second of samples at a time, faster than real time
            outlet.push_chunk(np.stack([noisy[i:i + 360], noisy2[i:i + 360]], axis=1).astype(np.float32),
                              stamps[i:i + 360].tolist())
            time.sleep(0.05)
        got_x: list[np.ndarray] = []
        got_t: list[np.ndarray] = []
        deadline = time.monotonic() + 30
        while sum(len(t) for t in got_t) < n - 300 and time.monotonic() < deadline:
            x, t = inlet.pull_chunk(timeout=0.5)
            if t:
                got_x.append(np.asarray(x))
                got_t.append(np.asarray(t))
        bridge.should_exit = True  # SIGTERM's path: the tail goes out padded and comes back
        th.join(30)
        assert "error" not in result, result.get("error")
        for _ in range(20):  # timeout 0: an inlet whose outlet has gone can block in liblsl
            time.sleep(0.1)
            x, t = inlet.pull_chunk(timeout=0.0)
            if t:
                got_x.append(np.asarray(x))
                got_t.append(np.asarray(t))
        meta = inlet.info(5.0)
    x, t = np.concatenate(got_x), np.concatenate(got_t)
    assert x.shape == (n, 2), f"{x.shape[0]} of {n} samples came out"
    np.testing.assert_allclose(t, stamps, atol=1e-3)  # each sample keeps its input's timestamp
    assert snr_db(clean, x[:, 0]) > snr_db(clean, noisy) + 3
    assert snr_db(clean2, x[:, 1]) > snr_db(clean2, noisy2) + 3
    assert meta.channel_count() == 2 and meta.nominal_srate() == RATE and meta.type() == "ECG"
    assert meta.desc().child_value("manufacturer") == "Hush tests"
    assert meta.desc().child("channels").child("channel").child_value("label") == "MLII"
    assert meta.desc().child("hush").child_value("source") == name
    counts = result["value"]
    assert counts.received == 2 * n and counts.out == 2 * n and counts.dropped == 0


class Broker:
    """A real MQTT broker (Mosquitto; `make broker` installs it) on a free loopback port, restartable on it."""

    def __init__(self, tmp: Any):
        from hush.tools.spawn import free_port, mqtt_broker

        self.port = free_port()
        self.cmd = mqtt_broker(self.port, tmp)
        self.log = tmp / "broker.log"
        self.proc: Any = None

    def start(self) -> Broker:
        import socket
        import subprocess

        self.proc = subprocess.Popen(self.cmd, stdout=open(self.log, "a"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"{self.cmd[0]} did not listen on {self.port}; see {self.log}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Client:
    """A paho client that (re)subscribes on every connect and keeps what it receives."""

    def __init__(self, port: int, subscribe: str | None = None):
        import paho.mqtt.client as mqtt

        self.got: list[tuple[str, bytes]] = []
        self.connects = 0
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.c.reconnect_delay_set(1, 1)

        def on_connect(c: Any, u: Any, f: Any, rc: Any, p: Any = None) -> None:
            if subscribe:
                c.subscribe(subscribe)
            self.connects += 1

        self.c.on_connect = on_connect
        self.c.on_message = lambda c, u, m: self.got.append((m.topic, bytes(m.payload)))
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


def wait_for(cond: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_mqtt_bridge_cleans_a_topic_and_resumes_after_a_broker_restart(shipped_runner: Any, tmp_path: Any) -> None:
    import json

    from hush.clients.mqtt import MqttBridge
    from hush.config import MqttConfig

    n, chunk = 150 * 40, 36
    clean, noisy = noisy_ecg(n, seed=3)
    broker = Broker(tmp_path).start()
    try:
        with running(shipped_runner, max_wait_ms=1.0) as srv:
            cfg = MqttConfig(port=broker.port, format="array", rate=RATE, input=srv.input_endpoint,
                             output=srv.output_endpoint)
            bridge = MqttBridge(cfg, say=lambda s: None)
            th, result = in_thread(bridge.run)
            sub, pub = Client(broker.port, "sensors/+/clean"), Client(broker.port)
            wait_for(lambda: bridge.connected and sub.connects and pub.connects, 15, "three MQTT clients")

            def send(lo: int, hi: int) -> None:
                for i in range(lo, hi, chunk):
                    pub.c.publish("sensors/ecg1/raw", json.dumps(noisy[i:min(i + chunk, hi)].tolist()))
                    time.sleep(0.002)

            def received() -> int:
                return sum(len(json.loads(p)) for _, p in list(sub.got))

            send(0, n // 2)
            wait_for(lambda: received() >= n // 2 - 300, 30, "the first half cleaned")
            time.sleep(0.5)  # what the bridge can give out before more comes is out
            broker.stop()
            broker.start()  # the same port: all three reconnect by themselves
            wait_for(lambda: bridge.gaps == 1 and bridge.connected and sub.connects == 2 and pub.connects == 2, 30,
                     "the clients back on the restarted broker")
            send(n // 2, n)
            wait_for(lambda: received() >= n - 300 and bridge.counts.received == n, 30, "the second half cleaned")
            bridge.should_exit = True  # SIGTERM's path: the tail goes out padded
            th.join(30)
            wait_for(lambda: received() >= n, 10, "the tail")
            sub.close()
            pub.close()
    finally:
        broker.stop()
    assert "error" not in result, result.get("error")
    topics = {t for t, _ in sub.got}
    out = np.concatenate([json.loads(p) for _, p in sub.got])
    assert topics == {"sensors/ecg1/clean"} and out.size == n
    assert snr_db(clean, out) > snr_db(clean, noisy) + 3
    counts = result["value"]
    assert counts.received == n and counts.out == n and counts.dropped == counts.malformed == 0
    assert bridge.gaps == 1 and bridge.gap_s > 0


def test_mqtt_payloads_are_read_by_format_and_bad_ones_refused() -> None:
    from hush.clients.mqtt import out_topic, parse

    assert parse(b"1.5", "number", "v")[0].tolist() == [1.5]
    assert parse(b"[1, 2.5]", "array", "v")[0].tolist() == [1.0, 2.5]
    assert parse(b'{"v": 3}', "object", "v") == (pytest.approx([3.0]), True)
    for payload, fmt, why in ((b"abc", "number", "could not convert"), (b"[]", "array", "non-empty"),
                              (b'{"w": 1}', "object", "key 'v'"), (b"[1, NaN]", "array", "finite"),
                              (b'[1, "x"]', "array", "numbers")):
        with pytest.raises(ValueError, match=why):
            parse(payload, fmt, "v")
    assert out_topic("sensors/{1}/clean", "sensors/pump-3/raw") == "sensors/pump-3/clean"
    assert out_topic("{topic}/hush", "a/b") == "a/b/hush"


def test_replay_of_an_xdf_recording_sends_one_stream_per_channel_at_its_times(shipped_runner: Any,
                                                                             tmp_path: Any) -> None:
    from hush.clients.subscriber import Subscriber
    from hush.clients.xdf import read_xdf, replay_xdf
    from tests.clients.xdfwrite import write_xdf

    n = 150 * 12
    clean, noisy = noisy_ecg(n, seed=5)
    stamps = 1000.0 + np.arange(n) / RATE
    path = tmp_path / "session.xdf"
    write_xdf(path, [{"name": "ECG", "type": "ECG", "rate": RATE, "labels": ["MLII", "V1"],
                      "data": np.stack([noisy, -noisy], axis=1), "stamps": stamps}])
    channels = read_xdf(path)
    assert [c.stream for c in channels] == ["xdf/ECG/MLII", "xdf/ECG/V1"] and channels[0].rate == RATE
    np.testing.assert_allclose(channels[0].samples, noisy.astype(np.float32))
    with running(shipped_runner, max_wait_ms=1.0) as srv, Subscriber(srv.output_endpoint, "xdf/") as sub:
        sub.wait_ready(10)
        t0 = time.monotonic()
        sent = replay_xdf(path, srv.input_endpoint, speed=10.0)
        took = time.monotonic() - t0
        got = [sub.recv(10.0) for _ in range(sent)]
    assert sent == 24 and took >= (n / RATE) / 10 * 0.8  # 5 s recorded, at 10x: about half a second
    first = sorted((m for m in got if m and m.stream == "xdf/ECG/MLII"), key=lambda m: m.seq)
    assert [m.seq for m in first] == list(range(12)) and sum(1 for m in got if m and m.stream == "xdf/ECG/V1") == 12
    assert first[3].body["t"] == pytest.approx(stamps[450]) and first[0].body["rate"] == RATE
    out = np.concatenate([m.samples() for m in first])
    assert snr_db(clean, out) > snr_db(clean, noisy.astype(np.float32)) + 3


def test_lsl_bridge_picks_the_outlet_up_again_when_it_comes_back(shipped_runner: Any) -> None:
    import pylsl


    name = f"hush-test-{uuid.uuid4().hex[:8]}"

    def outlet() -> Any:  # the same source id each time, as an amplifier's driver restarting would have
        return pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 1, RATE, "float32", name + "-src"))

    first = outlet()
    with running(shipped_runner, max_wait_ms=1.0) as srv:
        bridge, th, result, inlet = start_lsl_bridge(srv, name)
        got: list[float] = []

        def pull() -> int:  # timeout 0: an inlet whose outlet has gone can block in liblsl
            got.extend(v[0] for v in inlet.pull_chunk(timeout=0.0)[0])
            return len(got)

        def push(o: Any, n: int) -> None:
            x = np.sin(np.arange(n) / 9.0)[:, None].astype(np.float32)
            for i in range(0, n, 150):
                o.push_chunk(x[i:i + 150])
                time.sleep(0.02)

        push(first, 1500)
        wait_for(lambda: pull() >= 1500, 20, "the first part")
        del first  # the outlet goes away
        time.sleep(3.0)
        second = outlet()
        deadline = time.monotonic() + 30  # liblsl re-resolves the source id and reconnects
        while len(got) < 1500 + 1200 and time.monotonic() < deadline:
            push(second, 300)
            pull()
        bridge.should_exit = True
        th.join(30)
        assert "error" not in result, result.get("error")
    assert len(got) >= 2700, f"{len(got)} samples came out; the bridge did not pick the outlet up again"
