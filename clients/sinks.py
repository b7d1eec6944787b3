"""Where `hush subscribe` writes what it receives: CSV (one row per sample), JSON lines (one object per
message) or .npy (the windows stacked, written at the end, one file per stream)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import IO

import numpy as np

from hush.errors import InputError
from hush.protocol import Message
from hush.stitch import Stitcher


class Sink:
    def write(self, msg: Message) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the output (an .npy file is written only now)."""

    def abort(self) -> None:
        """Stop after an error: release files, write no .npy (a half-built array would look complete)."""
        fh = getattr(self, "fh", None)
        if fh is not None and fh is not sys.stdout:
            fh.close()


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


def save_per_stream(path: Path, arrays: dict[str, np.ndarray]) -> list[Path]:
    """One .npy file per stream: `path` itself when there is one stream (or none: an empty array), else
    <stem>.<stream>.npy beside it for each (a stream id's '/' and ':' become '_'). Returns the files written."""
    if len(arrays) <= 1:
        np.save(path, next(iter(arrays.values()), np.zeros(0)))
        return [path]
    written = []
    for stream, a in arrays.items():
        name = path.with_name(f"{path.stem}.{stream.replace('/', '_').replace(':', '_')}.npy")
        np.save(name, a)
        written.append(name)
    return written


class NpySink(Sink):
    """Each stream's windows as an (n, W) float64 array (a message of k windows adds k rows), one file per
    stream when several match (save_per_stream): streams are never mixed into one unlabelled array."""

    def __init__(self, path: Path, window: int):
        self.path, self.window = path, window
        self.rows: dict[str, list[np.ndarray]] = {}
        self.written: list[Path] = []

    def write(self, msg: Message) -> None:
        self.rows.setdefault(msg.topic, []).append(msg.samples())

    def close(self) -> None:
        self.written = save_per_stream(self.path, {s: np.concatenate(r).reshape(-1, self.window)
                                                   for s, r in self.rows.items()})


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
    JSON lines: {stream, index, samples} per final chunk; .npy: one 1-D file per stream (save_per_stream).

    The hop is the publisher's: with `hop` None it is read from the stream itself (two windows' `t` and
    `rate`), else W; a `hop` that the stream's `t` and `rate` contradict is an InputError, never a silently
    wrong signal."""

    def __init__(self, path: str | None, window: int, hop: int | None = None):
        self.path, self.window, self.given_hop = path, window, hop
        self.stitchers: dict[str, Stitcher] = {}
        self.hops: dict[str, int] = {}
        self.first: dict[str, Message] = {}  # a stream's first window, until its hop is known
        self.rate: dict[str, tuple[float, float]] = {}
        self.chunks: dict[str, list[np.ndarray]] = {}
        self.end: dict[str, int] = {}  # a stream's last sample + 1, when its last window was padded
        self.written: list[Path] = []
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
        if msg.topic not in self.hops:
            first = self.first.setdefault(msg.topic, msg)
            if first is msg:
                return  # its hop is not known yet
            self._start(msg.topic, self._hop(first, msg))
            self._add(first)
        self._add(msg)

    def _hop(self, a: Message, b: Message) -> int:
        """The hop two windows of one stream say by their t and rate (else the given one, else W)."""
        ta, tb, rate = a.body.get("t"), b.body.get("t"), a.body.get("rate")
        if ta is None or tb is None or not rate or a.seq is None or b.seq is None or a.seq == b.seq:
            return self.given_hop or self.window
        said = (tb - ta) * rate / (b.seq - a.seq)
        hop = round(said)
        if hop < 1 or abs(said - hop) > 0.05:
            raise InputError(f"stream {a.topic}: its windows' t and rate give a hop of {said:.2f} samples, not a "
                             "whole number >= 1: cannot stitch it")
        if self.given_hop and hop != self.given_hop:
            raise InputError(f"stream {a.topic}: its windows start every {hop} samples (their t and rate say so), "
                             f"not every --hop {self.given_hop}; leave --hop out to take it from the stream")
        if hop > self.window:
            raise InputError(f"stream {a.topic}: its windows start every {hop} samples, more than the window "
                             f"({self.window}): the samples between them were never sent, so there is nothing "
                             "seamless to rebuild; receive without --stitch")
        return hop

    def _start(self, stream: str, hop: int) -> None:
        self.hops[stream] = hop
        self.stitchers[stream] = Stitcher(self.window, hop)

    def _add(self, msg: Message) -> None:
        hop = self.hops[msg.topic]
        if msg.body.get("t") is not None and msg.body.get("rate") and msg.topic not in self.rate:
            t, rate = msg.body["t"], msg.body["rate"]
            self.rate[msg.topic] = (t - int(msg.seq or 0) * hop / rate, rate)
        if msg.body.get("pad"):  # `hush publish --tail pad`: the stream ends before this window does
            self.end[msg.topic] = int(msg.seq or 0) * hop + self.window - int(msg.body["pad"])
        self._out(msg.topic, self.stitchers[msg.topic].add(int(msg.seq or 0) * hop, msg.samples()))

    def _out(self, stream: str, chunk: np.ndarray) -> None:
        start = self.stitchers[stream].next_index - chunk.size  # the chunk ends where the stitcher now is
        if stream in self.end:
            chunk = chunk[:max(0, self.end[stream] - start)]
        if not chunk.size:
            return
        if self.kind == ".npy":
            self.chunks.setdefault(stream, []).append(chunk)
        elif self.kind == ".csv":
            t0, rate = self.rate.get(stream, (None, None))
            w = csv.writer(self.fh)  # type: ignore[arg-type]
            for i, v in enumerate(chunk.tolist(), start=start):
                w.writerow([stream, i, "" if t0 is None else repr(t0 + i / rate), repr(v)])  # type: ignore[operator]
        else:
            line = json.dumps({"stream": stream, "index": start, "samples": chunk.tolist()})
            self.fh.write(line + "\n")  # type: ignore[union-attr]

    def close(self) -> None:
        for stream, msg in self.first.items():  # a stream that sent one window only
            if stream not in self.hops:
                self._start(stream, self.given_hop or self.window)
                self._add(msg)
        for stream, st in self.stitchers.items():
            self._out(stream, st.flush())
        if self.kind == ".npy":
            self.written = save_per_stream(Path(self.path), {s: np.concatenate(c) for s, c in  # type: ignore[arg-type]
                                                             self.chunks.items()})
        elif self.fh is not None and self.fh is not sys.stdout:
            self.fh.close()
