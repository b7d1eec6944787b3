"""`hush replay`: send a recording (or a .npy/.csv signal) to a daemon, at its pace, faster, or at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import zmq

from hush.clients.publisher import Publisher, sender_socket, wait_subscribed
from hush.clients.recording import read_recording
from hush.samples import load_samples


def replay_recording(path: str | Path, endpoint: str, speed: float = 1.0, loop: bool = False, bind: bool = False,
                     connect_timeout_s: float = 10.0, should_stop: Callable[[], bool] = lambda: False,
                     push: bool = False, on_sent: Callable[[int], None] | None = None) -> int:
    """Re-send every message of a .hushrec file byte for byte, spaced as recorded divided by `speed`
    (0: as fast as possible); return how many were sent. `push`: a PUSH socket (a daemon with PULL input:
    nothing is dropped, sends wait). A truncated file is a RecordingError once its complete records are sent."""
    ctx = zmq.Context()
    sock, handshake = sender_socket(ctx, endpoint, bind, push=push, hwm=1_000_000)
    sent = 0
    try:
        wait_subscribed(sock, None, connect_timeout_s, endpoint, handshake, push)
        while True:
            _, records = read_recording(path)
            start, first = time.monotonic(), None
            for rec in records:
                if should_stop():
                    return sent
                if first is None:
                    first = rec.t_recv
                if speed > 0:
                    wait = start + (rec.t_recv - first) / speed - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                sock.send_multipart([rec.topic, rec.payload])
                sent += 1
                if on_sent:
                    on_sent(sent)
            if not loop or should_stop():
                return sent
    finally:
        handshake.done()
        sock.close()
        ctx.term()


def replay_signal(path: str | Path, endpoint: str, stream: str, rate: float, speed: float = 1.0,
                  window: int = 150, hop: int = 0, form: str = "bin-f8", loop: bool = False, bind: bool = False,
                  column: str = "0", connect_timeout_s: float = 10.0, push: bool = False,
                  on_sent: Callable[[int], None] | None = None) -> int:
    """Send a .npy/.csv signal as a stream of `rate` samples per second, paced at `speed` x real time."""
    x = load_samples(path, column)
    with Publisher(endpoint, stream, window, form, rate=rate, bind=bind, push=push) as pub:
        pub.wait_connected(connect_timeout_s)
        sent = pub.publish(x, hop=hop, speed=speed, on_sent=on_sent)
        while loop:
            pub.t0 = None if pub.t0 is None else pub.t0 + x.size / rate
            sent += pub.publish(x, hop=hop, speed=speed, on_sent=on_sent)
        return sent
