"""`Publisher`: send windows to a Hush daemon from Python, as `hush publish` does.

    with Publisher("tcp://127.0.0.1:5555", "pump-3", rate=360.0) as pub:
        pub.wait_connected()
        pub.send(window)              # W samples (or k x W: k consecutive windows in one message)
        pub.publish(samples, hop=75)  # or cut a long signal into windows

The socket is an XPUB rather than a PUB: ZeroMQ delivers the daemon's subscription to it once the
connection is up, which is how `wait_connected` knows that the first window will not be dropped.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import zmq

from hush import protocol
from hush.clients.handshake import Handshake
from hush.errors import InputError, NotConnected

FORMS = {"array": "array", "bin-f4": "<f4", "bin-f8": "<f8"}


def sender_socket(ctx: zmq.Context, endpoint: str, bind: bool = False, push: bool = False, hwm: int = 100_000,
                  curve: tuple[str, str] | None = None) -> tuple[zmq.Socket, Handshake]:
    """The socket a sender uses, set up, then bound or connected: an XPUB (hears the daemon's subscription,
    see wait_subscribed) or, with `push`, a PUSH for a daemon with input_type "pull"; and the Handshake
    watching its connection, for wait_subscribed to explain a failure."""
    sock = ctx.socket(zmq.PUSH if push else zmq.XPUB)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.LINGER, 5000)  # close waits (bounded) for what is still queued
    sock.setsockopt(zmq.MAXMSGSIZE, 65536)  # all it ever receives is subscriptions
    if not push:
        # Every subscription reaches wait_subscribed, also one equal to a subscription still on record from
        # a daemon that was killed (-9) and is back on the same endpoint.
        sock.setsockopt(zmq.XPUB_VERBOSE, 1)
    if curve:  # (client .key_secret file, server .key file)
        from hush.clients.security import secure_client

        secure_client(sock, *curve)
    handshake = Handshake(sock)
    (sock.bind if bind else sock.connect)(endpoint)
    return sock, handshake


class Publisher:
    def __init__(self, endpoint: str, stream: str, window: int = 150, form: str = "bin-f8",
                 rate: float | None = None, bind: bool = False, ctx: zmq.Context | None = None,
                 hwm: int = 100_000, push: bool = False, curve: tuple[str, str] | None = None):
        """push=True: a PUSH socket, for a daemon with input_type "pull" (lossless: sends wait rather than
        drop). curve=(client .key_secret file, server .key file) encrypts and authenticates."""
        if not protocol.TOPIC_RE.fullmatch(stream.encode()):
            raise InputError(f"stream id {stream!r} must be 1-128 characters from [A-Za-z0-9._:/-]")
        if form not in FORMS:
            raise InputError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
        self.endpoint, self.stream, self.window = endpoint, stream, window
        self.form, self.rate = FORMS[form], (rate or None)
        self.seq = 0
        self.t0: float | None = None  # epoch time of sample 0, when the rate is known
        self.tail = 0  # after publish(): samples at the end that no window covered
        self._own_ctx = ctx is None
        self.ctx = ctx or zmq.Context()
        self.push = push
        self.sock, self.handshake = sender_socket(self.ctx, endpoint, bind, push, hwm, curve)

    def wait_connected(self, timeout_s: float = 10.0) -> None:
        """Block until the daemon has subscribed to this stream (a PUSH socket: until a daemon's PULL socket
        has completed the handshake), or raise NotConnected saying why not."""
        wait_subscribed(self.sock, None if self.push else self.stream.encode(), timeout_s, self.endpoint,
                        self.handshake, self.push)

    def send(self, samples: np.ndarray, t: float | None = None, **extra: object) -> int:
        """Send k x W samples as one message; return its seq."""
        samples = np.asarray(samples, dtype=np.float64).reshape(-1)
        if samples.size == 0 or samples.size % self.window:
            raise InputError(f"expected k x {self.window} samples, got {samples.size}")
        seq = self.seq
        self.sock.send_multipart(protocol.encode_window(self.stream, seq, samples, self.form, t=t, rate=self.rate,
                                                        **extra))
        self.seq += 1
        return seq

    def publish(self, samples: Iterable[float] | np.ndarray, hop: int = 0, speed: float = 0.0, tail: str = "drop",
                on_sent: Callable[[int], None] | None = None) -> int:
        """Cut a signal into windows (a new one every `hop` samples, default W) and send each; return the
        count. With a rate and speed > 0, each window leaves when its last sample would have arrived, at
        `speed` times real time; speed 0 sends as fast as the samples come.

        What no full window covers at the end (`self.tail`, its sample count) is dropped with tail="drop";
        tail="pad" sends it in one more window on the hop grid, filled out by repeating the last sample and
        marked with the pass-through key "pad" (how many samples at its end are filler)."""
        hop = hop or self.window
        count, start, rest, last = 0, time.monotonic(), Rest(), -hop
        for index, win in windows_of(samples, self.window, hop, rest):
            self._send_at(win, index, start, speed)
            count, last = count + 1, index
            if on_sent:
                on_sent(count)
        self.tail = rest.after(last + self.window) if count else rest.end
        if tail == "pad" and self.tail:
            index = last + hop if count else 0
            body = rest.since(index)[-self.window:]
            pad = self.window - body.size
            self._send_at(np.concatenate([body, np.full(pad, body[-1])]), index, start, speed, pad=pad)
            count += 1
        return count

    def _send_at(self, win: np.ndarray, index: int, start: float, speed: float, **extra: object) -> None:
        t = None
        if self.rate:
            if self.t0 is None:
                self.t0 = time.time()
            t = self.t0 + index / self.rate
            if speed > 0:
                wait = start + (index + self.window) / (self.rate * speed) - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
        self.send(win, t=t, **extra)

    def close(self) -> None:
        self.handshake.done()  # its monitor socket would hold the context open
        self.sock.close()
        if self._own_ctx:
            self.ctx.term()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Rest:
    """The last samples windows_of has read (at most what a tail can need): what lies past the last window."""

    def __init__(self) -> None:
        self.samples = np.zeros(0)
        self.end = 0  # index, in the stream, just past self.samples

    def keep(self, samples: np.ndarray, end: int) -> None:
        self.samples, self.end = samples, end

    def since(self, index: int) -> np.ndarray:
        return self.samples[max(0, self.samples.size - (self.end - index)):]

    def after(self, index: int) -> int:
        """How many samples were read past `index`."""
        return max(0, self.end - index)


def windows_of(samples: Iterable[float] | np.ndarray, window: int, hop: int,
               rest: Rest | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(index of first sample, window) for every full window, from a finite array or an endless iterator;
    at the end, `rest` holds the last samples read (the tail no window covers is among them).

    A stream is read lazily, so a live sensor piped in is published window by window as it arrives.
    """
    if hop < 1:
        raise InputError(f"hop must be an integer >= 1, got {hop}")
    if isinstance(samples, np.ndarray):
        for start in range(0, samples.size - window + 1, hop):
            yield start, samples[start:start + window]
        if rest is not None:
            rest.keep(samples[-(window + hop):], samples.size)
        return
    it = iter(samples)
    buf: list[float] = []
    first = 0  # index of buf[0] in the stream
    for value in it:
        buf.append(value)
        if len(buf) == window:
            yield first, np.asarray(buf)
            drop = min(hop, window)
            del buf[:drop]
            first += drop
            if hop > window:  # samples between two windows are not sent
                skipped = sum(1 for _ in itertools.islice(it, hop - window))
                first += skipped
    if rest is not None:
        rest.keep(np.asarray(buf, dtype=np.float64), first + len(buf))


MISMATCH = ("a daemon with PULL input takes PUSH (--push), one with SUB input takes PUB (no --push); or this is "
            "not a daemon's input")


def wait_subscribed(sock: zmq.Socket, topic: bytes | None, timeout_s: float, endpoint: str,
                    handshake: Handshake | None = None, push: bool = False) -> None:
    """On an XPUB socket: wait for a subscription that matches `topic` (any, if None); on a PUSH socket, for a
    completed handshake with a peer. NotConnected says why nothing came (Handshake.explain)."""
    deadline = time.monotonic() + timeout_s
    if handshake is not None:
        handshake.watch()
    try:
        while (left := deadline - time.monotonic()) > 0:
            if push:
                if handshake is None or zmq.EVENT_HANDSHAKE_SUCCEEDED in handshake.seen():
                    return
                time.sleep(min(left, 0.02))
            elif sock.poll(int(left * 1000) + 1):
                msg = sock.recv()
                if msg[:1] == b"\x01" and (topic is None or topic.startswith(msg[1:])):
                    return
        why = handshake.explain(endpoint, "the daemon's subscription", MISMATCH) if handshake else ""
        raise NotConnected(f"no Hush daemon subscribed at {endpoint} within {timeout_s:g} s" + (f": {why}" if why
                                                                                                 else ""))
    finally:
        if handshake is not None:
            handshake.done()
