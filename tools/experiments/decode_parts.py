"""What decoding one input message costs, part by part (hot loop, timeit, µs per call): where a decoder
that checked a whole drain of messages at once could save. Run from the repository root:

    .venv/bin/python tools/experiments/decode_parts.py
"""

from __future__ import annotations

import timeit
from typing import Any

import msgpack
import numpy as np

from hush import protocol


def us(stmt: str, **names: Any) -> float:
    return min(timeit.repeat(stmt, number=50_000, repeat=5, globals={**globals(), **names})) / 50_000 * 1e6


def main() -> None:
    frames = protocol.encode_window("bench/s", 0, np.random.default_rng(0).standard_normal(150), "<f4", t=1.0,
                                    rate=100.0)
    obj = msgpack.unpackb(frames[1], raw=False)
    values = np.frombuffer(obj["samples"], dtype="<f4").astype(np.float64)
    window = protocol.decode_window(frames, 150)
    for name, stmt in [("decode_window, whole", "protocol.decode_window(frames, 150)"),
                       ("  topic check (regex)", "protocol.TOPIC_RE.fullmatch(frames[0])"),
                       ("  msgpack.unpackb", "msgpack.unpackb(frames[1], raw=False, strict_map_key=True)"),
                       ("  frombuffer + astype", "np.frombuffer(obj['samples'], dtype='<f4').astype(np.float64)"),
                       ("  isfinite().all()", "np.isfinite(values).all()"),
                       ("encode_output, whole", "protocol.encode_output(window, window.samples, 'm')")]:
        print(f"{name:24s} {us(stmt, frames=frames, obj=obj, values=values, window=window):6.2f} us")


if __name__ == "__main__":
    main()
