"""What the daemon's admission rules cost the I/O thread and the workers, per window: `admit` of one-window
messages and `take` of full batches, with one stream and with 5,000 streams (daemon/admission.py, the queue
at 4,096 windows as the defaults make it). No sockets, no model.

    python tools/experiments/admission_cost.py
"""

from __future__ import annotations

import time

from hush.daemon.admission import Admission, Rules


def per_window_us(streams: int, n: int = 200_000) -> float:
    q: Admission[int] = Admission(Rules(max_batch=64, max_wait_s=0.0, limit=4096, drop=True))
    keys = [i.to_bytes(4, "little") for i in range(streams)]
    t = time.perf_counter()
    for i in range(n):
        q.admit(i, 1, 0.0, keys[i % streams])
        if i % 64 == 63:
            q.take(0.0)
    return (time.perf_counter() - t) / n * 1e6


def main() -> None:
    for streams in (1, 5000):
        runs = sorted(per_window_us(streams) for _ in range(5))
        print(f"{streams:5d} streams: admit + take {runs[2]:.2f} us per window (median of 5; "
              f"{', '.join(f'{r:.2f}' for r in runs)})")


if __name__ == "__main__":
    main()
