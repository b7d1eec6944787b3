"""Models' throughput in one process, in turn: the Runner's TensorFlow graph on batches of 64 scaled windows,
3 s each, two rounds (the first warms up). Quicker than `hush bench --models`, which tries every engine and
thread setting in fresh processes; use that for the daemon's best setting.

    python tools/experiments/model_rate.py models/default.keras OTHER.keras [...]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from hush.runtime.runner import Runner
from hush.tools.model_timing import mflop_per_window


def main() -> None:
    z = np.random.default_rng(0).standard_normal((64, 150)).astype(np.float32)
    for round_ in (1, 2):
        for path in sys.argv[1:]:
            runner = Runner.load(path, max_batch=64, engine="graph")
            runner.run_scaled(z)
            start, n = time.perf_counter(), 0
            while time.perf_counter() - start < 3:
                runner.run_scaled(z)
                n += 64
            print(f"round {round_}: {path}: {mflop_per_window(path):.2f} MFLOP per window, "
                  f"{n / (time.perf_counter() - start):,.0f} windows/s", flush=True)


if __name__ == "__main__":
    main()
