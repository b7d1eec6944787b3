"""One end-to-end load point, with where the CPU went: the A/B runs in docs/performance.md.

Starts `hush serve` (extra flags pass through, e.g. `--config variant.toml`), offers RATE windows/s in
messages of K windows for SECONDS with the bench's generator and subscriber, and prints what came back and
the CPU each process (and each daemon thread) used, read from /proc. Run from the repository root:

    .venv/bin/python tools/experiments/load_point.py 10500 8 6 --config /tmp/queue16.toml
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from hush.paths import DEFAULT_MODEL
from hush.tools import bench
from hush.tools.spawn import DaemonProcess


def threads(pid: int) -> dict[int, tuple[str, float]]:
    """tid -> (name, CPU seconds so far), by psutil; the names from Linux's /proc/<pid>/task/<tid>/comm."""
    out = {}
    for t in psutil.Process(pid).threads():
        try:
            name = Path(f"/proc/{pid}/task/{t.id}/comm").read_text().strip()
        except OSError:
            name = str(t.id)
        out[t.id] = (name, t.user_time + t.system_time)
    return out


def children() -> list[int]:
    return [p.pid for p in psutil.Process().children(recursive=True)]


def main() -> None:
    rate, k, seconds, flags = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
    log = Path(tempfile.gettempdir()) / "hush-load-point.log"
    proc = DaemonProcess(DEFAULT_MODEL, flags=flags, log=log).start()
    inp, out = proc.input, proc.output
    try:
        bench.offered_load(inp, out, 200, 1.0, 1)  # warm
        before = {p: threads(p) for p in (proc.pid, os.getpid())}
        last: dict[int, dict[int, tuple[str, float]]] = {}
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                for p in children() + [os.getpid()]:
                    try:
                        last[p] = threads(p)
                    except psutil.NoSuchProcess:
                        pass
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.time()
        result = bench.offered_load(inp, out, rate, seconds, k)
        wall = time.time() - t0
        stop.set()
        sampler.join()
    finally:
        proc.stop()
    print(json.dumps({key: round(float(v), 3) for key, v in result.items()}))
    for pid, now in last.items():
        name = "daemon" if pid == proc.pid else "subscriber" if pid == os.getpid() else "generator (or helper)"
        used = {tid: cpu - before.get(pid, {}).get(tid, (n, 0.0))[1] for tid, (n, cpu) in now.items()}
        print(f"{name} {pid}: {sum(used.values()) / wall:.2f} cores over {wall:.1f} s")
        for tid, cpu in sorted(used.items(), key=lambda kv: -kv[1])[:8]:
            if cpu > 0.05:
                print(f"    {now[tid][0]:16s} {cpu / wall:.2f} cores")


if __name__ == "__main__":
    main()
