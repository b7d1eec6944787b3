"""The daemon's two worker threads, behind the I/O thread (server.py):

    I/O thread --Shared (batcher, errors)--> Inference thread --queue--> Sender thread --> output socket

Inference takes a batch whenever it is free and one is ready, so the next batch fills while the model runs
the current one, and runs it (TensorFlow releases the GIL). Sender owns the output socket (pyzmq: a socket
lives in the thread that made it): it encodes and publishes one batch while the next one is in the model.
Order is kept end to end, and every window leaves as exactly one answer or one error.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import msgpack
import numpy as np
import zmq

from hush import protocol
from hush.config import ServeConfig
from hush.daemon.batcher import Batcher
from hush.daemon.runner import Runner
from hush.daemon.stats import Stats

log = logging.getLogger("hush.serve")
MAX_TRACKED_STREAMS = 100_000  # per-stream counters (drops, seq gaps) stop adding streams past this many
TICK_S = 0.05  # the longest any worker sleeps before looking around again (subscriptions, shutdown)


def overloaded(stats: Stats, topic: bytes | None, seq: int | None, windows: int, why: str) -> list[bytes]:
    """Count a message dropped under overload (per stream, bounded) and make its `overloaded` error reply;
    `why` says which limit it met. The I/O thread (queue full) and the model workers (waited too long) drop."""
    stats.count_drop(topic.decode() if topic else "(unreadable)", windows, MAX_TRACKED_STREAMS)
    return protocol.encode_error("overloaded", f"the daemon is over capacity: {why}; this message was dropped",
                                 topic, seq)


class ServeError(RuntimeError):
    """The daemon cannot start (a socket cannot be bound, the model cannot be served)."""


def attach(sock: zmq.Socket, endpoint: str, mode: str, what: str) -> str:
    """Bind or connect `sock`; return the endpoint it ended up on (a bound port '*' is resolved)."""
    try:
        if mode == "bind":
            sock.bind(endpoint)
            return sock.getsockopt_string(zmq.LAST_ENDPOINT)
        sock.connect(endpoint)
        return endpoint
    except zmq.ZMQError as exc:
        raise ServeError(f"cannot {mode} the {what} socket to {endpoint}: {exc}") from None


class Shared:
    """Between the I/O thread and Inference, under one condition variable: the batcher, errors not yet
    sent, and whether the I/O thread has stopped taking input."""

    def __init__(self, cfg: ServeConfig, runner: Runner):
        self.runner = runner  # replaced whole by a reload; each batch uses the one it started with
        self.cond = threading.Condition()
        self.batcher: Batcher[protocol.Window] = Batcher(cfg.max_batch, cfg.max_wait_ms / 1000)
        self.errors: list[list[bytes]] = []
        self.closing = False  # set once by the I/O thread: nothing more will be added
        self.next_ticket = 0  # batches are numbered as they are taken, so Sender can keep their order
        # Past this many waiting windows, SUB input drops and PULL input stops reading (server.py).
        self.limit = cfg.queue_batches * cfg.max_batch
        # SUB input: windows older than this when a worker takes them are dropped, not run (0: never).
        self.max_age_s = cfg.max_queue_ms / 1000 if cfg.input_type == "sub" else 0.0


# What Inference hands Sender: the batch's ticket, its windows, their denoised samples (or the exception
# the model raised), error replies to send first, the id of the model that ran and the seconds it took.
# None: a worker is done. Sender, the one thread that writes the output counters, records them.
Done = tuple[int, list[protocol.Window], "np.ndarray | Exception | None", list[list[bytes]], str, float]


class Inference(threading.Thread):
    """One of `workers` model threads. Several single-threaded workers, each on its own batch, beat one
    worker whose every op is split across the cores (docs/performance.md)."""

    def __init__(self, shared: Shared, out: queue.Queue[Done | None], stats: Stats, n: int = 0):
        super().__init__(name=f"hush-inference-{n}", daemon=True)
        self.shared, self.out, self.stats = shared, out, stats

    def run(self) -> None:
        while True:
            ticket, windows, errors, done = self._next()
            if windows and self.shared.max_age_s:
                windows = self._drop_stale(windows, errors)
            runner = self.shared.runner
            y: np.ndarray | Exception | None = None
            model_s = 0.0
            if windows:
                x = np.concatenate([w.samples for w in windows])
                t0 = time.perf_counter()
                try:
                    out = runner.denoise(x)
                    if out.shape != x.shape:
                        raise RuntimeError(f"the model returned shape {out.shape} for input {x.shape}")
                    y = out
                except Exception as exc:  # every waiting window still gets its one answer
                    log.exception("model failed on a batch of %d windows", len(x))
                    y = exc
                model_s = time.perf_counter() - t0
            if windows or errors:
                self.out.put((ticket, windows, y, errors, runner.model_id, model_s))
            if done:
                self.out.put(None)
                return

    def _drop_stale(self, windows: list[protocol.Window], errors: list[list[bytes]]) -> list[protocol.Window]:
        """Under sustained overload the queue is full and everything in it is late: a window that waited
        longer than max_queue_ms is answered `overloaded` (appended to `errors`, which leave first) rather
        than run, which bounds the latency of what is served and gives its model time to the rest. The
        batcher hands out the oldest first, so the late ones are a prefix: one comparison when none is."""
        now, limit = time.perf_counter(), self.shared.max_age_s
        n = 0
        while n < len(windows) and now - windows[n].received > limit:
            w = windows[n]
            errors.append(overloaded(self.stats, w.topic, w.seq, len(w.samples), f"it waited "
                                     f"{(now - w.received) * 1000:.0f} ms for the model, longer than max_queue_ms"))
            n += 1
        return windows[n:] if n else windows

    def _next(self) -> tuple[int, list[protocol.Window], list[list[bytes]], bool]:
        """Wait for a ready batch or errors to pass on; (ticket, windows, errors, no more will come)."""
        sh = self.shared
        with sh.cond:
            while True:
                now = time.perf_counter()
                windows = sh.batcher.take(now, force=sh.closing)
                errors, sh.errors = sh.errors, []
                done = sh.closing and not len(sh.batcher)
                if windows or errors or done:
                    sh.cond.notify_all()  # room for the I/O thread again
                    ticket = sh.next_ticket
                    if windows or errors:
                        sh.next_ticket += 1
                    return ticket, windows, errors, done
                deadline = sh.batcher.deadline()
                sh.cond.wait(TICK_S if deadline is None else max(0.0, min(TICK_S, deadline - now)))


class Sender(threading.Thread):
    """Owns the output socket: publishes answers and errors, and greets every subscription on !ready."""

    def __init__(self, ctx: zmq.Context, cfg: ServeConfig, shared: Shared, inbox: queue.Queue[Done | None],
                 stats: Stats, workers: int = 1, security: Any = None):
        super().__init__(name="hush-sender", daemon=True)
        self.ctx, self.cfg, self.shared, self.inbox, self.stats = ctx, cfg, shared, inbox, stats
        self.security = security  # applies CURVE to a socket before it binds, when configured
        self.workers = workers
        self.bound = threading.Event()
        self.endpoint = ""
        self.error: Exception | None = None

    def run(self) -> None:
        sock = self.ctx.socket(zmq.XPUB)
        # XPUB rather than PUB: it hears each subscription, and answers it on "!ready" so a subscriber can
        # know its subscription arrived before it asks a sensor to start (docs/protocol.md).
        sock.setsockopt(zmq.XPUB_VERBOSE, 1)
        sock.setsockopt(zmq.SNDHWM, self.cfg.hwm)
        sock.setsockopt(zmq.MAXMSGSIZE, 65536)  # subscribers send only subscriptions
        if self.security:
            self.security(sock)
        try:
            self.endpoint = attach(sock, self.cfg.output, self.cfg.output_mode, "output")
        except ServeError as exc:
            self.error = exc
            sock.close(linger=0)
            self.bound.set()
            return
        self.bound.set()
        # Workers finish batches out of order; answers leave in ticket order, so a stream keeps its order.
        waiting: dict[int, Done] = {}
        expect, finished = 0, 0
        try:
            while finished < self.workers or waiting:
                self._hear_subscriptions(sock)
                try:
                    item = self.inbox.get(timeout=TICK_S)
                except queue.Empty:
                    continue
                if item is None:
                    finished += 1
                    continue
                waiting[item[0]] = item
                while expect in waiting:
                    _, windows, y, errors, model_id, model_s = waiting.pop(expect)
                    expect += 1
                    for frames in errors:
                        sock.send_multipart(frames)
                    if windows:
                        self.stats.model_s += model_s
                        self.stats.model_windows += sum(len(w.samples) for w in windows)
                        self._answer(sock, windows, y, model_id)
        finally:
            # Bounded linger: a subscriber that went away cannot hold the exit longer than linger_ms.
            sock.close(linger=self.cfg.linger_ms)

    def _hear_subscriptions(self, sock: zmq.Socket) -> None:
        while True:
            try:
                msg = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if msg[:1] == b"\x01":  # a new subscription (b"\x00" is an unsubscription)
                runner = self.shared.runner
                hello = {"model": runner.model_id, "window": runner.window,
                         "protocol": protocol.VERSION, "prefix": msg[1:].decode("utf-8", "replace")}
                sock.send_multipart([protocol.READY_TOPIC, msgpack.packb(hello)])

    def _answer(self, sock: zmq.Socket, windows: list[protocol.Window], y: np.ndarray | Exception | None,
                model_id: str) -> None:
        if not isinstance(y, np.ndarray):
            for w in windows:
                self.stats.errors["internal"] += 1
                sock.send_multipart(protocol.encode_error("internal", f"the model failed: {y}"[:200], w.topic,
                                                          w.seq))
            return
        # Counted before sending, like errors and drops: an answer a subscriber has seen is in the counters
        # (`hush ctl stats` right after the last reply reconciles).
        self.stats.batches += 1
        self.stats.batch_windows += len(y)
        self.stats.windows_out += len(y)
        self.stats.messages_out += len(windows)
        i = 0
        for w in windows:
            k = len(w.samples)
            sock.send_multipart(protocol.encode_output(w, y[i:i + k], model_id))
            i += k
        now = time.perf_counter()
        self.stats.record_batch(i, [now - w.received for w in windows])
