"""`hush demo`: the whole chain, for real, on the shipped model and the shipped recording.

It starts `hush serve` as its own process on two free loopback ports, subscribes to its output, replays
data/demo.hushrec into it (plus one malformed window, to show an error reply), compares what comes back
with the clean signal the recording was made from, draws a picture and stops the daemon with SIGTERM.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from hush import protocol
from hush.clients.publisher import Publisher
from hush.clients.recording import read_recording
from hush.clients.replay import replay_recording
from hush.clients.subscriber import Subscriber
from hush.paths import DEFAULT_MODEL, DEMO_RECORDING, DEMO_REFERENCE
from hush.tools.spawn import DaemonProcess

SPEED = 5.0  # replay at 5x the recorded pace: the 45 s recording takes ~9 s


def _snr_db(clean: np.ndarray, est: np.ndarray) -> float:
    return float(10 * np.log10(((clean - clean.mean()) ** 2).sum() / ((est - clean) ** 2).sum()))


def demo(out_dir: str | Path = "demo-out", model: str | None = None) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model_path = Path(model) if model else DEFAULT_MODEL
    header, records = read_recording(DEMO_RECORDING)
    sent = [protocol.decode_window([r.topic, r.payload], 150, 64) for r in records]
    print(f"1. recording {DEMO_RECORDING.name}: {len(sent)} windows of stream {sent[0].topic.decode()!r}, "
          f"{sent[0].meta.get('rate')} samples/s, recorded from {header.get('endpoint')}")

    log_path = out / "serve.log"
    log_path.unlink(missing_ok=True)
    daemon = DaemonProcess(model_path, log=log_path).start(ready_timeout_s=None)
    inp, outp = daemon.input, daemon.output
    print(f"2. started: hush serve --model {model_path} --input {inp} --output {outp}  (log: {log_path})")
    try:
        with Subscriber(outp) as sub:
            hello = sub.wait_ready(120)
            print(f"3. subscribed to {outp}: model {hello['model']}, window {hello['window']}")
            t0 = time.perf_counter()
            n = replay_recording(DEMO_RECORDING, inp, speed=SPEED, connect_timeout_s=60)
            with Publisher(inp, "demo/bad-sensor") as bad:  # one window of the wrong length
                bad.wait_connected(30)
                bad.sock.send_multipart(protocol.encode_window("demo/bad-sensor", 0, np.zeros(100)))
            print(f"4. replayed {n} windows at {SPEED:g}x the recorded pace in {time.perf_counter() - t0:.1f} s, "
                  f"and sent 1 malformed window (100 samples)")
            got: dict[int, np.ndarray] = {}
            errors: list[protocol.Message] = []
            while len(got) < n or not errors:
                msg = sub.recv(10.0)
                if msg is None:
                    break
                if msg.is_error:
                    errors.append(msg)
                else:
                    got[msg.seq] = msg.samples()  # type: ignore[index]
    finally:
        code = daemon.stop(30)
    for e in errors:
        print(f"5. error reply on {e.topic}: {e.body['error']}: {e.body['detail']}")
    print(f"6. received {len(got)}/{n} denoised windows; daemon exited with code {code} on SIGTERM")

    noisy = np.concatenate([w.samples[0] for w in sent])
    denoised = np.concatenate([got[w.seq] for w in sent if w.seq in got]) if len(got) == n else None
    clean = np.load(DEMO_REFERENCE)[: noisy.size] if DEMO_REFERENCE.is_file() else None
    if denoised is not None and clean is not None:
        print(f"7. against the clean reference: SNR {_snr_db(clean, noisy):.1f} dB in -> "
              f"{_snr_db(clean, denoised):.1f} dB out; RMSE {np.sqrt(np.mean((noisy - clean) ** 2)):.4f} -> "
              f"{np.sqrt(np.mean((denoised - clean) ** 2)):.4f} (input's units)")
        np.save(out / "denoised.npy", denoised)
        _plot(out / "demo.png", noisy, clean, denoised, float(sent[0].meta.get("rate") or 1.0), hello["model"])
        print(f"8. wrote {out / 'demo.png'} and {out / 'denoised.npy'}")
    ok = denoised is not None and len(errors) == 1 and code == 0
    print("demo " + ("succeeded" if ok else "FAILED"))
    return 0 if ok else 1


def _plot(path: Path, noisy: np.ndarray, clean: np.ndarray, denoised: np.ndarray, rate: float,
          model_id: object) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.arange(noisy.size) / rate
    fig, axes = plt.subplots(2, 1, figsize=(11, 6))
    for ax, sl in ((axes[0], slice(None)), (axes[1], slice(0, 600))):
        ax.plot(t[sl], noisy[sl], color="0.75", lw=0.8, label="noisy (replayed)")
        ax.plot(t[sl], clean[sl], color="tab:green", lw=1.4, label="clean reference")
        ax.plot(t[sl], denoised[sl], color="tab:blue", lw=1.0, label="denoised by hush serve")
        ax.set_xlabel("seconds")
    axes[0].legend(loc="upper right", fontsize=8, ncol=3)
    axes[0].set_title(f"hush demo: model {model_id}; the lower panel is the first 600 samples", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
