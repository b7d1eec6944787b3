"""The daemon's worker threads, behind the I/O thread (server.py):

    I/O thread --Handoff (admitted requests, errors)--> Inference threads --Finished--> Sender --> output socket

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
from dataclasses import dataclass
from typing import Any

import numpy as np
import zmq

from hush import protocol
from hush.config import ServeConfig
from hush.daemon.admission import Admission, Rules
from hush.daemon.stats import Stats
from hush.errors import HushError
from hush.runtime.runner import Runner

log = logging.getLogger("hush.serve")
TICK_S = 0.05  # the longest any worker sleeps before looking around again (subscriptions, shutdown)


class ServeError(HushError, RuntimeError):
    """The daemon cannot start (a socket cannot be bound, the model cannot be served)."""

    exit_code = 1


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


def rules_for(cfg: ServeConfig) -> Rules:
    """The admission rules (daemon/admission.py) a configuration asks for."""
    drop = cfg.input_type == "sub"
    return Rules(cfg.max_batch, cfg.max_wait_ms / 1000, cfg.queue_batches * cfg.max_batch, drop,
                 cfg.max_queue_ms / 1000 if drop else 0.0)


class Handoff:
    """What the I/O thread hands the model workers, under one condition variable: the admitted requests
    (by the admission rules), error replies not yet sent, and whether the I/O thread has stopped reading."""

    def __init__(self, cfg: ServeConfig, runner: Runner):
        self.runner = runner  # replaced whole by a reload; each batch uses the one it started with
        self.cond = threading.Condition()
        self.queue: Admission[protocol.Request] = Admission(rules_for(cfg))
        self.errors: list[list[bytes]] = []
        self.closing = False  # set once by the I/O thread: nothing more will be added
        self.next_ticket = 0  # batches are numbered as they are taken, so Sender can keep their order


@dataclass
class Finished:
    """What a model worker hands Sender for one batch: its ticket (Sender publishes in ticket order), the
    requests and their denoised samples (or the exception the model raised), error replies to send first,
    the id of the model that ran and the seconds it took. Sender, the one thread that writes the output
    counters, records them."""

    ticket: int
    requests: list[protocol.Request]
    output: np.ndarray | Exception | None
    errors: list[list[bytes]]
    model_id: str
    model_s: float


class Inference(threading.Thread):
    """One of `workers` model threads. Several single-threaded workers, each on its own batch, beat one
    worker whose every op is split across the cores (docs/performance.md). Puts a Finished per batch on
    `out`, and None when no more will come."""

    def __init__(self, handoff: Handoff, out: queue.Queue[Finished | None], stats: Stats, n: int = 0):
        super().__init__(name=f"hush-inference-{n}", daemon=True)
        self.handoff, self.out, self.stats = handoff, out, stats

    def run(self) -> None:
        while True:
            ticket, requests, errors, done = self._next()
            runner = self.handoff.runner
            y: np.ndarray | Exception | None = None
            model_s = 0.0
            if requests:
                x = np.concatenate([r.samples for r in requests])
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
            if requests or errors:
                self.out.put(Finished(ticket, requests, y, errors, runner.model_id, model_s))
            if done:
                self.out.put(None)
                return

    def _next(self) -> tuple[int, list[protocol.Request], list[list[bytes]], bool]:
        """Wait for a ready batch or errors to pass on; (ticket, requests, errors, no more will come). A
        request refused as too old (admission.py) leaves as an `overloaded` error, ahead of the batch."""
        h = self.handoff
        with h.cond:
            while True:
                now = time.perf_counter()
                requests, stale = h.queue.take(now, force=h.closing)
                errors, h.errors = h.errors, []
                errors += [self.stats.drop(r.topic, r.seq, len(r.samples), f"it waited {waited * 1000:.0f} ms for "
                                           "the model, longer than max_queue_ms") for r, waited in stale]
                done = h.closing and not len(h.queue)
                if requests or errors or done:
                    h.cond.notify_all()  # room for the I/O thread again
                    ticket = h.next_ticket
                    if requests or errors:
                        h.next_ticket += 1
                    return ticket, requests, errors, done
                deadline = h.queue.deadline()
                h.cond.wait(TICK_S if deadline is None else max(0.0, min(TICK_S, deadline - now)))


class Sender(threading.Thread):
    """Owns the output socket: publishes answers and errors, and greets every subscription on !ready."""

    def __init__(self, ctx: zmq.Context, cfg: ServeConfig, handoff: Handoff, inbox: queue.Queue[Finished | None],
                 stats: Stats, workers: int = 1, security: Any = None):
        super().__init__(name="hush-sender", daemon=True)
        self.ctx, self.cfg, self.handoff, self.inbox, self.stats = ctx, cfg, handoff, inbox, stats
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
        waiting: dict[int, Finished] = {}
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
                waiting[item.ticket] = item
                while expect in waiting:
                    f = waiting.pop(expect)
                    expect += 1
                    for frames in f.errors:
                        sock.send_multipart(frames)
                    if f.requests:
                        self.stats.model_s += f.model_s
                        self.stats.model_windows += sum(len(r.samples) for r in f.requests)
                        self._answer(sock, f.requests, f.output, f.model_id)
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
                runner = self.handoff.runner
                hello = {"model": runner.model_id, "window": runner.window,
                         "protocol": protocol.VERSION, "prefix": msg[1:].decode("utf-8", "replace"),
                         "max_windows_per_message": self.cfg.max_windows_per_message,
                         "max_message_bytes": self.cfg.max_message_bytes,
                         "max_extra_bytes": self.cfg.max_extra_bytes}
                sock.send_multipart(protocol.encode_ready(hello))

    def _answer(self, sock: zmq.Socket, windows: list[protocol.Request], y: np.ndarray | Exception | None,
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
        frames, i = [], 0
        for w in windows:
            k = len(w.samples)
            frames.append(protocol.encode_output(w, y[i:i + k], model_id))
            i += k
        # Latency runs until the answer is encoded and handed to ZeroMQ; recorded before the sends, so /metrics
        # read by a subscriber that has seen an answer counts it.
        now = time.perf_counter()
        self.stats.record_batch(i, [now - w.received for w in windows])
        for f in frames:
            sock.send_multipart(f)
