"""The load generator and the collector that every benchmark uses.

`generate` runs in its own process (start it with `start`) and offers paced windows: phase after phase of
(windows/s, seconds), in messages of k windows, round-robin over some streams, and records when each message
left. `collect` subscribes to a daemon's output and timestamps each answer on arrival, decoding nothing
until the run is over. Both clocks are `time.perf_counter`, which on Linux is one system-wide monotonic
clock, so a latency is an arrival time minus a send time across processes.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np
import zmq

from hush import protocol

W = 150
PACK_AHEAD_MAX = 200_000  # messages packed before the clock starts; a longer run packs as it goes


@dataclass(frozen=True)
class Load:
    """What to offer, and how. A rate of 0 sends as fast as the socket takes messages."""

    endpoint: str
    phases: list[tuple[float, float]]  # (windows/s, seconds)
    k: int = 1  # windows per message
    streams: int = 1  # stream ids <prefix>s0, <prefix>s1, ... round-robin
    prefix: str = "load/"
    push: bool = False  # PUSH (lossless, for --input-type pull) instead of a publisher
    bind: bool = False  # bind instead of connecting (several daemons connect to one PUSH)
    count: int = 0  # with a rate of 0: how many messages
    stamp: bool = False  # each message carries its send time (pass-through "ts", perf_counter): for long runs
    topics: list[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "topics", [f"{self.prefix}s{i}" for i in range(self.streams)])

    def messages(self) -> int:
        return sum(self.count if rate == 0 else max(1, int(rate * seconds / self.k)) for rate, seconds in self.phases)

    def frames(self, i: int, samples: np.ndarray) -> list[bytes]:
        """Message i: stream i mod streams, its seq i div streams, k windows of `samples`."""
        extra = {"ts": time.perf_counter()} if self.stamp else {}
        return protocol.encode_window(self.topics[i % self.streams], i // self.streams, samples, "<f4", **extra)


def _socket(ctx: zmq.Context, load: Load) -> zmq.Socket:
    # XPUB rather than PUB: it hears the daemon's subscription, so nothing is sent before the daemon listens.
    sock = ctx.socket(zmq.PUSH if load.push else zmq.XPUB)
    sock.setsockopt(zmq.SNDHWM, 1000 if load.push else 0)
    if load.bind:
        sock.bind(load.endpoint)
    else:
        sock.connect(load.endpoint)
    if load.push:
        time.sleep(1.0)  # let every daemon's PULL connect, so PUSH spreads from the first message
    else:
        sock.poll(30_000)
        sock.recv()  # the daemon subscribed
    return sock


def generate(load: Load, result: Any) -> None:
    """Offer `load`; put (send times as float64 bytes, this process's CPU seconds) on the `result` queue."""
    ctx = zmq.Context()
    sock = _socket(ctx, load)
    samples = np.random.default_rng(1).standard_normal(load.k * W)
    n = load.messages()
    # Packed before the clock starts when it fits: the generator shares the daemon's cores, so it does as
    # little as it can while the load runs.
    packed = [load.frames(i, samples) for i in range(n)] if n <= PACK_AHEAD_MAX and not load.stamp else None
    sent = np.zeros(n)
    i, cpu = 0, time.process_time()
    for rate, seconds in load.phases:
        end = i + (load.count if rate == 0 else max(1, int(rate * seconds / load.k)))
        start, interval = time.perf_counter() + 0.05, (load.k / rate if rate else 0.0)
        first = i
        # Bursts every millisecond rather than a busy-wait per message: spinning would take a core away
        # from the daemon on a 2-core machine. Each message's own send time is recorded.
        while i < end:
            due = end if not interval else min(end, first + int((time.perf_counter() - start) / interval) + 1)
            while i < due:
                sent[i] = time.perf_counter()
                sock.send_multipart(packed[i] if packed else load.frames(i, samples))
                i += 1
            if interval:
                time.sleep(0.001)
    result.put((sent.tobytes(), time.process_time() - cpu))
    sock.close(linger=60_000)
    ctx.term()


def start(load: Load) -> tuple[Any, Any]:
    """`generate(load)` in a fresh spawned process: (process, result queue)."""
    spawn = mp.get_context("spawn")
    q = spawn.Queue()
    proc = spawn.Process(target=generate, args=(load, q))
    proc.start()
    return proc, q


def finish(proc: Any, q: Any) -> tuple[np.ndarray, float]:
    """The generator's send times and CPU seconds, once it is done."""
    sent, cpu = q.get(timeout=120)
    proc.join(60)
    return np.frombuffer(sent, dtype=np.float64), float(cpu)


def subscriber(ctx: zmq.Context, outputs: list[str], prefixes: list[bytes]) -> zmq.Socket:
    """A SUB on every daemon output, unbounded queue, that has heard each daemon's !ready."""
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 0)
    for p in [*prefixes, protocol.READY_TOPIC]:
        sub.setsockopt(zmq.SUBSCRIBE, p)
    for out in outputs:
        sub.connect(out)
    heard = 0
    while heard < len(outputs):
        if not sub.poll(120_000):
            raise TimeoutError(f"no !ready from {outputs} within 120 s")
        heard += sub.recv_multipart()[0] == protocol.READY_TOPIC
    return sub


def collect(sub: zmq.Socket, n: int, idle_s: float = 3.0, done: Any = None) -> list[tuple[float, bytes, bytes]]:
    """(arrival time, topic, body) of each message until `n` have come, `idle_s` pass in silence, or (if
    given) `done()` is true during a silence. Timestamps on arrival; decoding is left for after the run."""
    got: list[tuple[float, bytes, bytes]] = []
    while len(got) < n:
        if not sub.poll(int(idle_s * 1000)):
            if done is None or done():
                break
            continue
        while True:  # everything that has arrived
            try:
                topic, body = sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            if topic != protocol.READY_TOPIC:
                got.append((time.perf_counter(), topic, body))
    return got


def seq_of(body: bytes) -> int:
    return int(msgpack.unpackb(body)["seq"])
