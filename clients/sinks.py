"""Where `hush subscribe` writes what it receives: CSV (one row per sample), JSON lines (one object per
message) or .npy (the windows stacked, written at the end)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import IO

import numpy as np

from hush.errors import InputError
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


def kind_of(path: str | None) -> str:
    """What `path` is to be written as, by its suffix: ".csv", ".jsonl" or ".npy" (None or '-': stdout, JSON
    lines)."""
    suffix = Path(path).suffix if path not in (None, "-") else ".jsonl"
    if suffix not in (".csv", ".jsonl", ".json", ".npy"):
        raise InputError(f"--out {path}: expected a .csv, .jsonl or .npy file, or - for stdout")
    return ".jsonl" if suffix == ".json" else suffix


def open_text(path: str | None) -> IO[str]:
    return sys.stdout if path in (None, "-") else open(path, "w", newline="")  # type: ignore[arg-type]


def open_sink(path: str | None, window: int) -> Sink:
    """A sink for `path` by its suffix (kind_of)."""
    kind = kind_of(path)
    if kind == ".npy":
        return NpySink(Path(path), window)  # type: ignore[arg-type]
    return CsvSink(open_text(path)) if kind == ".csv" else JsonlSink(open_text(path))


class StitchedSink(Sink):
    """One continuous stream per stream id, rebuilt by overlap-add (hush/stitch.py) from windows that
    start every `hop` samples (window seq n starts at sample n x hop). CSV rows: stream, index, t, value;
    JSON lines: {stream, index, samples} per final chunk; .npy: the one stream's samples (1-D)."""

    def __init__(self, path: str | None, window: int, hop: int):
        from hush.stitch import Stitcher

        self.path, self.window, self.hop = path, window, hop
        self._new = lambda: Stitcher(window, hop)
        self.stitchers: dict[str, Stitcher] = {}
        self.rate: dict[str, tuple[float, float]] = {}
        self.chunks: list[np.ndarray] = []
        self.kind = suffix = kind_of(path)
        self.fh: IO[str] | None = None
        if suffix != ".npy":
            self.fh = open_text(path)
            if suffix == ".csv":
                csv.writer(self.fh).writerow(["stream", "index", "t", "value"])

    def write(self, msg: Message) -> None:
        x = msg.samples()
        if x.size != self.window:
            raise InputError(f"--stitch needs one window per message; {msg.topic} seq {msg.seq} has {x.size} "
                             "samples")
        st = self.stitchers.setdefault(msg.topic, self._new())
        if msg.body.get("t") is not None and msg.body.get("rate") and msg.topic not in self.rate:
            t, rate = msg.body["t"], msg.body["rate"]
            self.rate[msg.topic] = (t - int(msg.seq or 0) * self.hop / rate, rate)
        self._out(msg.topic, st.add(int(msg.seq or 0) * self.hop, x))

    def _out(self, stream: str, chunk: np.ndarray) -> None:
        start = self.stitchers[stream].next_index - chunk.size  # the chunk ends where the stitcher now is
        if not chunk.size:
            return
        if self.kind == ".npy":
            if len(self.stitchers) > 1:
                raise InputError("--stitch into .npy takes one stream; use a --prefix that matches one")
            self.chunks.append(chunk)
        elif self.kind == ".csv":
            t0, rate = self.rate.get(stream, (None, None))
            w = csv.writer(self.fh)  # type: ignore[arg-type]
            for i, v in enumerate(chunk.tolist(), start=start):
                w.writerow([stream, i, "" if t0 is None else repr(t0 + i / rate), repr(v)])  # type: ignore[operator]
        else:
            line = json.dumps({"stream": stream, "index": start, "samples": chunk.tolist()})
            self.fh.write(line + "\n")  # type: ignore[union-attr]

    def close(self) -> None:
        for stream, st in self.stitchers.items():
            self._out(stream, st.flush())
        if self.kind == ".npy":
            np.save(self.path, np.concatenate(self.chunks) if self.chunks else np.zeros(0))  # type: ignore[arg-type]
        elif self.fh is not None and self.fh is not sys.stdout:
            self.fh.close()
