"""`python -m hush.tools.bridge_check lsl|mqtt`: each bridge end to end as a user runs it, in real processes,
scored: `hush serve` (the shipped model), `hush bridge ...`, a source made from the shipped ECG with white
noise at --snr dB (an LSL outlet, or MQTT messages of 36 samples on sensors/ecg1/raw), and the cleaned
stream read back (the outlet ECG-hush, or sensors/ecg1/clean). Prints SNR in and out and the samples that
went in and came out. The MQTT check needs a broker: it starts Mosquitto on a free port (`make broker`
installs it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from hush.paths import DEFAULT_MODEL
from hush.tools.spawn import DaemonProcess, free_port, loopback, mqtt_broker

RATE = 360.0
ECG = Path(__file__).resolve().parent.parent / "data" / "ecg_mitbih208.npy"


def snr_db(clean: np.ndarray, x: np.ndarray) -> float:
    return float(10 * np.log10(np.var(clean) / np.mean((x - clean) ** 2)))


def signal(n: int, snr: float) -> tuple[np.ndarray, np.ndarray]:
    """The first n samples of the checkout's ECG (data/ecg_mitbih208.npy) and a noisy copy."""
    clean = np.load(ECG)[:n].astype(np.float64)
    return clean, clean + np.random.default_rng(0).standard_normal(n) * np.sqrt(np.var(clean) / 10 ** (snr / 10))


def bridge(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "hush.cli", "bridge", *args], stdout=open(log, "w"),
                            stderr=subprocess.STDOUT)


def check_lsl(n: int, snr: float, daemon: DaemonProcess, tmp: Path) -> dict[str, Any]:
    import pylsl

    clean, noisy = signal(n, snr)
    name = f"ECG-{uuid.uuid4().hex[:6]}"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "ECG", 1, RATE, "float32", name))
    proc = bridge(["lsl", "--name", name, "--input", daemon.input, "--output", daemon.output, "--hop", "75"],
                  tmp / "bridge.log")
    try:
        found = pylsl.resolve_byprop("name", name + "-hush", 1, 60.0)
        if not found:
            raise RuntimeError(f"no cleaned outlet; see {tmp / 'bridge.log'}")
        inlet = pylsl.StreamInlet(found[0])
        inlet.open_stream(10.0)
        start, xs, ts = pylsl.local_clock(), [], []

        def pull() -> None:  # never with a timeout: an inlet whose outlet has gone can block in liblsl
            x, t = inlet.pull_chunk(timeout=0.0, max_samples=100_000)
            xs.extend(x)
            ts.extend(t)

        for i in range(0, n, 36):  # at the recorded pace, 36 samples (0.1 s) at a time
            chunk = noisy[i:i + 36]
            outlet.push_chunk(chunk[:, None].astype(np.float32), (start + np.arange(i, i + len(chunk)) / RATE).tolist())
            time.sleep(max(0.0, start + (i + 36) / RATE - pylsl.local_clock()))
            pull()
        time.sleep(1.0)
        pull()
        proc.terminate()  # SIGTERM: the bridge flushes its tail through the daemon
        end = time.monotonic() + 5.0
        while time.monotonic() < end and len(ts) < n:
            pull()
            time.sleep(0.05)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = np.asarray(xs).reshape(-1)
    return {"in": n, "out": out.size, "snr_in": snr_db(clean, noisy), "snr_out": snr_db(clean, out[:n]),
            "timestamps_kept": len(ts) == n and bool(np.allclose(ts, start + np.arange(n) / RATE, atol=1e-3))}


def check_mqtt(n: int, snr: float, daemon: DaemonProcess, tmp: Path) -> dict[str, Any]:
    import paho.mqtt.client as mqtt

    port = free_port()
    broker = subprocess.Popen(mqtt_broker(port, tmp), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    clean, noisy = signal(n, snr)
    got: list[float] = []
    proc = None
    try:
        time.sleep(0.5)
        sub, pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2), mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        sub.on_message = lambda c, u, m: got.extend(json.loads(m.payload))
        for c in (sub, pub):
            c.connect("127.0.0.1", port)
            c.loop_start()
        sub.subscribe("sensors/+/clean")
        proc = bridge(["mqtt", "--port", str(port), "--format", "array", "--rate", str(RATE), "--input",
                       daemon.input, "--output", daemon.output], tmp / "bridge.log")
        time.sleep(8.0)  # the bridge's interpreter, then its connections
        start = time.monotonic()
        for i in range(0, n, 36):
            pub.publish("sensors/ecg1/raw", json.dumps(noisy[i:i + 36].tolist()))
            time.sleep(max(0.0, start + (i + 36) / RATE - time.monotonic()))
        time.sleep(1.0)
        proc.terminate()
        proc.wait(30)
        time.sleep(0.5)
        for c in (sub, pub):
            c.loop_stop()
            c.disconnect()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        broker.terminate()
    out = np.asarray(got)
    return {"in": n, "out": out.size, "snr_in": snr_db(clean, noisy), "snr_out": snr_db(clean, out[:n])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("kind", choices=("lsl", "mqtt"))
    p.add_argument("--seconds", type=float, default=30.0, help="length of the noisy ECG sent")
    p.add_argument("--snr", type=float, default=10.0, help="input SNR, dB (white noise)")
    args = p.parse_args(argv)
    n = int(args.seconds * RATE)
    with tempfile.TemporaryDirectory() as tmp, DaemonProcess(DEFAULT_MODEL, loopback(), loopback(),
                                                             log=Path(tmp) / "daemon.log").start() as daemon:
        check = check_lsl if args.kind == "lsl" else check_mqtt
        r = check(n, args.snr, daemon, Path(tmp))
    print(f"hush bridge {args.kind}, shipped model, {args.seconds:g} s of ECG at {RATE:g} Hz with white noise: "
          f"{r['in']} samples in, {r['out']} out; SNR {r['snr_in']:.2f} dB in, {r['snr_out']:.2f} dB out "
          f"(+{r['snr_out'] - r['snr_in']:.2f} dB)"
          + (f"; timestamps kept: {r['timestamps_kept']}" if "timestamps_kept" in r else ""))
    return 0 if r["out"] == r["in"] else 1


if __name__ == "__main__":
    sys.exit(main())
