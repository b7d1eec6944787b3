"""Recordings: what `hush record` writes and `hush replay` reads.

A recording (`.hushrec`) is a stream of msgpack values: first a header map
    {"format": "hush-recording", "version": 1, "endpoint": ..., "started": epoch seconds}
then one array per message, in arrival order:
    [t_recv (epoch seconds, float), topic (bin), payload (bin: the message's map frame, untouched)]
Frames are kept byte for byte, so a replay sends exactly what was received.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import msgpack
import zmq

from hush.errors import InputError
from hush.protocol import READY_TOPIC

FORMAT, VERSION = "hush-recording", 1


class RecordingError(InputError):
    """A file that is not a readable Hush recording."""


@dataclass
class Record:
    t_recv: float
    topic: bytes
    payload: bytes


class RecordingWriter:
    def __init__(self, path: str | Path, endpoint: str = ""):
        self.path = Path(path)
        self.fh: BinaryIO = open(self.path, "wb")
        self.count = 0
        header = {"format": FORMAT, "version": VERSION, "endpoint": endpoint, "started": time.time()}
        self.fh.write(msgpack.packb(header))

    def write(self, t_recv: float, topic: bytes, payload: bytes) -> None:
        self.fh.write(msgpack.packb([t_recv, topic, payload], use_bin_type=True))
        self.count += 1

    def close(self) -> None:
        self.fh.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_recording(path: str | Path) -> tuple[dict[str, object], Iterator[Record]]:
    """The header and a lazy iterator over the records of a recording file."""
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"recording not found: {path}")
    fh = open(path, "rb")
    unpacker = msgpack.Unpacker(fh, raw=False, max_buffer_size=64 * 1024 * 1024)
    try:
        header = next(unpacker)
    except (StopIteration, ValueError):
        fh.close()
        raise RecordingError(f"{path}: empty or not msgpack: not a Hush recording") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("version") != VERSION:
        fh.close()
        raise RecordingError(f"{path}: not a {FORMAT} version {VERSION} file (header {str(header)[:80]})")

    size = path.stat().st_size

    def records() -> Iterator[Record]:
        n = 0
        with fh:
            for n, item in enumerate(unpacker, start=1):
                if not (isinstance(item, list) and len(item) == 3 and isinstance(item[1], bytes)
                        and isinstance(item[2], bytes)):
                    raise RecordingError(f"{path}: record {n - 1} is malformed")
                yield Record(float(item[0]), item[1], item[2])
            if unpacker.tell() != size:  # the file ends inside a record: a capture cut off (disk full, kill -9)
                raise RecordingError(f"{path}: truncated: it ends {size - unpacker.tell()} bytes into a record, "
                                     f"after {n} complete records (those were read)")

    return header, records()


def record(endpoint: str, path: str | Path, prefix: str = "", bind: bool = False,
           should_stop: Callable[[], bool] = lambda: False, max_messages: int = 0,
           on_message: Callable[[Record], None] | None = None,
           on_ready: Callable[[dict[str, object] | None], None] | None = None, ready_timeout_s: float = 10.0) -> int:
    """Capture messages from `endpoint` into `path` until should_stop() or max_messages; return the count.

    Connected to a daemon's output, it first waits (up to ready_timeout_s) for the daemon's !ready answer
    to its subscription, so nothing sent after `on_ready` is called is missed; bound, it starts at once."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.RCVHWM, 1_000_000)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.MAXMSGSIZE, 16 * 1024 * 1024)
    sock.setsockopt(zmq.SUBSCRIBE, prefix.encode())
    if not bind:
        sock.setsockopt(zmq.SUBSCRIBE, READY_TOPIC)
    try:
        (sock.bind if bind else sock.connect)(endpoint)
        hello = None
        if not bind:
            deadline = time.monotonic() + ready_timeout_s
            while hello is None and (left := deadline - time.monotonic()) > 0 and not should_stop():
                if sock.poll(int(min(left, 0.1) * 1000) + 1):
                    frames = sock.recv_multipart()
                    if frames[0] == READY_TOPIC and len(frames) == 2:
                        hello = msgpack.unpackb(frames[1])
        if on_ready:
            on_ready(hello)
        with RecordingWriter(path, endpoint) as out:
            while not should_stop() and not (max_messages and out.count >= max_messages):
                if not sock.poll(100):
                    continue
                frames = sock.recv_multipart()
                if len(frames) != 2 or (frames[0] == READY_TOPIC and not prefix.startswith("!")):
                    continue  # not a Hush message, or the daemon greeting a subscriber
                rec = Record(time.time(), frames[0], frames[1])
                out.write(rec.t_recv, rec.topic, rec.payload)
                if on_message:
                    on_message(rec)
            return out.count
    finally:
        sock.close()
        ctx.term()
