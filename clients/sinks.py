"""Where `hush subscribe` writes what it receives: CSV (one row per sample), JSON lines (one object per
message) or .npy (the windows stacked, written at the end)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import IO

import numpy as np

from hush.protocol import Message


class Sink:
    def write(self, msg: Message) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class CsvSink(Sink):
    """Columns: stream, seq, index (sample within the message), t (when the rate is known), value."""

    def __init__(self, fh: IO[str]):
        self.fh = fh
        self.out = csv.writer(fh)
        self.out.writerow(["stream", "seq", "index", "t", "value"])

    def write(self, msg: Message) -> None:
        x, t0, rate = msg.samples(), msg.body.get("t"), msg.body.get("rate")
        for i, v in enumerate(x.tolist()):
            t = "" if t0 is None or not rate else repr(t0 + i / rate)
            self.out.writerow([msg.topic, msg.seq, i, t, repr(v)])
        self.fh.flush()

    def close(self) -> None:
        if self.fh is not sys.stdout:
            self.fh.close()


class JsonlSink(Sink):
    def __init__(self, fh: IO[str]):
        self.fh = fh

    def write(self, msg: Message) -> None:
        body = {k: v for k, v in msg.body.items() if k not in ("samples", "dtype")}
        self.fh.write(json.dumps({"stream": msg.topic, **body, "samples": msg.samples().tolist()}) + "\n")
        self.fh.flush()

    def close(self) -> None:
        if self.fh is not sys.stdout:
            self.fh.close()


class NpySink(Sink):
    """All windows as one (n, W) float64 array; a message of k windows adds k rows."""

    def __init__(self, path: Path, window: int):
        self.path, self.window = path, window
        self.rows: list[np.ndarray] = []

    def write(self, msg: Message) -> None:
        self.rows.append(msg.samples())

    def close(self) -> None:
        rows = np.concatenate(self.rows) if self.rows else np.zeros(0)
        np.save(self.path, rows.reshape(-1, self.window))


def open_sink(path: str | None, window: int) -> Sink:
    """A sink for `path` by its suffix; None or '-' is JSON lines on stdout."""
    if path in (None, "-"):
        return JsonlSink(sys.stdout)
    p = Path(path)
    if p.suffix == ".npy":
        return NpySink(p, window)
    if p.suffix == ".csv":
        return CsvSink(open(p, "w", newline=""))
    if p.suffix in (".jsonl", ".json"):
        return JsonlSink(open(p, "w"))
    raise ValueError(f"--out {path}: expected a .csv, .jsonl or .npy file, or - for stdout")
