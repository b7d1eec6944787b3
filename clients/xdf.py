"""`hush replay FILE.xdf`: a Lab Streaming Layer recording (LabRecorder's XDF) sent to a daemon as it was
recorded, one Hush stream per channel (`xdf/<stream name>/<channel label>`), read by pyxdf.

Every numeric stream of the file is replayed; marker and text streams are skipped (and said so). Windows of all
channels go out merged in time order, each when its last sample was recorded (divided by `speed`; 0: at
once), stamped with its first sample's recorded time (`t`, LSL clock seconds) and the stream's nominal rate.
Samples past the last full window of a channel are not sent (`tail`, counted).
"""

from __future__ import annotations

import heapq
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from hush import protocol
from hush.clients.publisher import FORMS, sender_socket, wait_subscribed
from hush.errors import InputError


@dataclass
class XdfChannel:
    stream: str  # the Hush stream id
    samples: np.ndarray
    stamps: np.ndarray
    rate: float | None


def _first(info: dict[str, Any], key: str, default: str = "") -> str:
    value = info.get(key)
    return str(value[0]) if isinstance(value, list) and value and value[0] is not None else default


def _labels(info: dict[str, Any], count: int) -> list[str]:
    try:
        chans = info["desc"][0]["channels"][0]["channel"]
        labels = [str(c["label"][0]) for c in chans]
    except (KeyError, IndexError, TypeError):
        labels = []
    if len(labels) != count or len(set(labels)) != count or not all(labels):
        labels = [str(i) for i in range(count)]
    return [re.sub(r"[^A-Za-z0-9._:-]", "_", x)[:40] for x in labels]


def read_xdf(path: str | Path, say: Callable[[str], None] = lambda s: None) -> list[XdfChannel]:
    """The numeric channels of an XDF file, one per Hush stream."""
    try:
        import pyxdf
    except ImportError:
        raise InputError("replaying .xdf needs pyxdf: pip install 'hush[bridges]'") from None
    try:
        streams, _ = pyxdf.load_xdf(str(path), dejitter_timestamps=False)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except Exception as exc:  # pyxdf raises plain exceptions for a damaged file
        raise InputError(f"{path}: not a readable XDF file: {exc}") from None
    out = []
    for s in streams:
        info, name = s["info"], re.sub(r"[^A-Za-z0-9._:-]", "_", _first(s["info"], "name", "stream"))[:40]
        x = s.get("time_series")
        if not isinstance(x, np.ndarray) or x.dtype.kind not in "fiu" or x.ndim != 2 or not len(x):
            say(f"{path}: skipping stream {name!r} ({_first(info, 'channel_format', '?')}, not numeric samples)")
            continue
        rate = float(_first(info, "nominal_srate", "0") or 0) or None
        for c, label in enumerate(_labels(info, x.shape[1])):
            out.append(XdfChannel(f"xdf/{name}/{label}", x[:, c].astype(np.float64),
                                  np.asarray(s["time_stamps"], np.float64), rate))
    if not out:
        raise InputError(f"{path}: no numeric stream to replay")
    return out


def windows(channels: list[XdfChannel], window: int, hop: int) -> Iterator[tuple[float, XdfChannel, int, int]]:
    """(time of the window's last sample, channel, seq, first sample) for every full window, in time order."""
    def one(ch: XdfChannel) -> Iterator[tuple[float, str, int, int]]:
        for seq, first in enumerate(range(0, ch.samples.size - window + 1, hop)):
            yield float(ch.stamps[first + window - 1]), ch.stream, seq, first

    by_name = {ch.stream: ch for ch in channels}
    for t, name, seq, first in heapq.merge(*(one(ch) for ch in channels)):
        yield t, by_name[name], seq, first


def replay_xdf(path: str | Path, endpoint: str, speed: float = 1.0, window: int = 150, hop: int = 0,
               form: str = "bin-f8", bind: bool = False, push: bool = False, connect_timeout_s: float = 10.0,
               on_sent: Callable[[int], None] | None = None, say: Callable[[str], None] = lambda s: None,
               should_stop: Callable[[], bool] = lambda: False) -> int:
    """Send every full window of every numeric channel of an XDF file; return how many were sent."""
    channels = read_xdf(path, say)
    hop = hop or window
    ctx = zmq.Context()
    sock, handshake = sender_socket(ctx, endpoint, bind, push=push, hwm=1_000_000)
    sent, start = 0, time.monotonic()
    t0 = min(float(ch.stamps[0]) for ch in channels)
    try:
        wait_subscribed(sock, None, connect_timeout_s, endpoint, handshake, push)
        for t_last, ch, seq, first in windows(channels, window, hop):
            if should_stop():
                break
            if speed > 0 and (wait := start + (t_last - t0) / speed - time.monotonic()) > 0:
                time.sleep(wait)
            sock.send_multipart(protocol.encode_window(ch.stream, seq, ch.samples[first:first + window],
                                                       FORMS[form], t=float(ch.stamps[first]), rate=ch.rate))
            sent += 1
            if on_sent:
                on_sent(sent)
    finally:
        handshake.done()
        sock.close()
        ctx.term()
    tails = {ch.stream: (ch.samples.size - window) % hop if ch.samples.size >= window else ch.samples.size
             for ch in channels}
    say(f"{path}: {len(channels)} channels; samples past each channel's last full window not sent: "
        + ", ".join(f"{k} {v}" for k, v in tails.items()))
    return sent
