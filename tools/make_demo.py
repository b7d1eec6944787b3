"""Make the demo's shipped files: data/demo_clean.npy (the clean reference) and data/demo.hushrec.

The recording is made the way a user would make one: a Publisher sends a noisy sensor signal at its real
pace (200 samples/s, 45 s) to a `hush record` capture bound on loopback. Rerun with:
    .venv/bin/python -m hush.tools.make_demo
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from hush.clients.publisher import Publisher
from hush.clients.recording import record
from hush.tools.spawn import free_port

HERE = Path(__file__).resolve().parent.parent / "data"  # the repository's data/ (run it in a checkout)
RATE, SECONDS, WINDOW, SNR_DB = 200.0, 45, 150, 8.0


def sensor(rng: np.random.Generator) -> np.ndarray:
    """A made-up vibration sensor: a slow drift, a 1.3 Hz and a 3.1 Hz component, a level shift at 20 s."""
    t = np.arange(int(RATE * SECONDS)) / RATE
    x = 20.0 + 0.8 * np.sin(2 * np.pi * 0.05 * t) + 1.5 * np.sin(2 * np.pi * 1.3 * t)
    x += 0.6 * np.sin(2 * np.pi * 3.1 * t + 1.0) * (1 + 0.5 * np.sin(2 * np.pi * 0.1 * t))
    x += 1.0 * (t > 20) * (1 - np.exp(-(t - 20) * 3))
    return x


def main() -> None:
    rng = np.random.default_rng(7)
    clean = sensor(rng)
    noise = rng.standard_normal(clean.size) * np.sqrt(clean.var() / 10 ** (SNR_DB / 10))
    np.save(HERE / "demo_clean.npy", clean)
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    n_windows = clean.size // WINDOW
    done = threading.Event()
    rec = threading.Thread(target=record, args=(endpoint, HERE / "demo.hushrec"),
                           kwargs=dict(bind=True, max_messages=n_windows, should_stop=done.is_set))
    rec.start()
    with Publisher(endpoint, "demo/vibration", WINDOW, "bin-f8", rate=RATE) as pub:
        pub.wait_connected(10)
        sent = pub.publish(clean + noise, speed=1.0)
    rec.join(30)
    done.set()
    print(f"recorded {sent} windows into {HERE / 'demo.hushrec'}")


if __name__ == "__main__":
    main()
