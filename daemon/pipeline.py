"""The daemon's worker threads, behind the I/O thread (server.py):

    I/O thread --Handoff (admitted requests, errors)--> Inference threads --Finished--> Sender --> output socket

Inference takes a batch whenever it is free and one is ready, so the next batch fills while the model runs
the current one, and runs it (TensorFlow releases the GIL). Sender owns the output socket (pyzmq: a socket
lives in the thread that made it): it encodes and publishes one batch while the next one is in the model.
Order is kept end to end, and every window leaves as exactly one answer or one error.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import zmq

from hush import faults, protocol
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
        hint = "" if "://" in endpoint else "; endpoints look like tcp://127.0.0.1:5555"
        raise ServeError(f"cannot {mode} the {what} socket to {endpoint}: {exc}{hint}") from None


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
        # What the watchdog (the I/O thread) reads: the batch in the model and since when. A worker that
        # overstays batch_timeout_s is abandoned: the watchdog answers its batch and starts another worker;
        # whatever the abandoned one returns later is dropped. `lock` orders the two.
        self.lock = threading.Lock()
        self.busy: tuple[float, Finished] | None = None
        self.abandoned = False

    def run(self) -> None:
        while True:
            ticket, requests, errors, done = self._next()
            if requests or errors:
                finished = self._run(Finished(ticket, requests, None, errors, self.handoff.runner.model_id, 0.0))
                with self.lock:
                    self.busy = None
                    if self.abandoned:
                        return  # the watchdog has answered this batch and put this worker's None
                    self.out.put(finished)
            if done:
                with self.lock:
                    if not self.abandoned:
                        self.out.put(None)
                return

    def _run(self, f: Finished) -> Finished:
        """The model on one batch; any exception, at any step, becomes the batch's answer (each of its
        windows gets an `internal` error), so every window gets exactly one answer."""
        if not f.requests:
            return f
        runner = self.handoff.runner
        f.model_id = runner.model_id
        t0 = time.perf_counter()
        with self.lock:
            self.busy = (time.monotonic(), f)
        try:
            faults.hit("assemble")
            x = np.concatenate([r.samples for r in f.requests])
            out = runner.denoise(x)
            if out.shape != x.shape:
                raise RuntimeError(f"the model returned shape {out.shape} for input {x.shape}")
            faults.hit("handoff_out")
            f.output = out
        except Exception as exc:
            log.exception("model failed on a batch of %d messages", len(f.requests))
            f.output = exc
        f.model_s = time.perf_counter() - t0
        return f

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
                if item.ticket < expect:
                    continue  # already answered (by the watchdog, for a worker it abandoned)
                waiting[item.ticket] = item
                while expect in waiting:
                    f = waiting.pop(expect)
                    expect += 1
                    for frames in f.errors:
                        self._send(sock, frames)
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

    def _send(self, sock: zmq.Socket, frames: list[bytes]) -> bool:
        """Publish one message; False (logged) if ZeroMQ or an injected fault refuses it: the sender goes on."""
        try:
            faults.hit("send")
            sock.send_multipart(frames)
            return True
        except Exception:
            self.stats.unsent += 1
            log.exception("could not publish a message on %r", frames[0][:80] if frames else b"")
            return False

    def _answer(self, sock: zmq.Socket, windows: list[protocol.Request], y: np.ndarray | Exception | None,
                model_id: str) -> None:
        frames: list[list[bytes]] = []
        if isinstance(y, np.ndarray):
            i = 0
            for w in windows:
                k = len(w.samples)
                try:
                    faults.hit("encode")
                    frames.append(protocol.encode_output(w, y[i:i + k], model_id))
                except Exception as exc:  # this message gets an error; the rest of the batch its answers
                    log.exception("could not encode the answer to %s seq %s", w.topic, w.seq)
                    frames.append(self._internal(w, f"its answer could not be encoded: {exc}"))
                i += k
            # Counted before sending, like errors and drops: an answer a subscriber has seen is in the counters
            # (`hush ctl stats` right after the last reply reconciles).
            self.stats.batches += 1
            self.stats.batch_windows += len(y)
            self.stats.windows_out += len(y)
            self.stats.messages_out += sum(1 for f in frames if not f[0].startswith(protocol.ERROR_PREFIX))
            # Latency runs until the answer is encoded and handed to ZeroMQ; recorded before the sends, so
            # /metrics read by a subscriber that has seen an answer counts it.
            now = time.perf_counter()
            self.stats.record_batch(i, [now - w.received for w in windows])
        else:
            frames = [self._internal(w, f"the model failed: {y}") for w in windows]
        for w, f in zip(windows, frames, strict=True):
            if not self._send(sock, f) and not f[0].startswith(protocol.ERROR_PREFIX):
                self.stats.messages_out -= 1  # not answered after all: say why instead, if ZeroMQ takes that
                self._send(sock, self._internal(w, "its answer could not be published"))

    def _internal(self, w: protocol.Request, detail: str) -> list[bytes]:
        self.stats.errors["internal"] += 1
        return protocol.encode_error("internal", detail[:200], w.topic, w.seq)


class Watch:
    """The I/O thread's watch over the other threads, run every tick (`check`). A model worker whose batch
    outlasts batch_timeout_s is abandoned: its batch is answered `internal` (a TimeoutError) here, the
    sender is told that worker is done, and a new worker takes its place; a thread that died is fatal."""

    def __init__(self, workers: list[Inference], sender: Sender, done: queue.Queue[Finished | None],
                 handoff: Handoff, stats: Stats, cfg: ServeConfig):
        self.workers, self.sender, self.done, self.handoff, self.stats = workers, sender, done, handoff, stats
        self.timeout_s = cfg.batch_timeout_s
        self.started = len(workers)

    def check(self) -> str | None:
        """None while all is well; else why the daemon cannot go on."""
        if not self.sender.is_alive():
            return "the sender thread stopped: no answer can be published any more"
        now = time.monotonic()
        for i, w in enumerate(self.workers):
            if not w.is_alive() and not w.abandoned and not self.handoff.closing:
                return f"model worker {w.name} stopped unexpectedly"
            busy = w.busy
            if self.timeout_s and busy is not None and now - busy[0] > self.timeout_s:
                self._replace(i, w)
        return None

    def _replace(self, i: int, w: Inference) -> None:
        with w.lock:
            if w.busy is None:  # it finished meanwhile
                return
            started, f = w.busy
            w.abandoned = True
        f = dataclasses.replace(f, output=TimeoutError(f"the model took longer than batch_timeout_s "
                                                       f"({self.timeout_s:g} s)"))
        self.sender.workers += 1  # the new worker's end counts too; the old one's is put now
        self.done.put(f)
        self.done.put(None)
        self.stats.abandoned += 1
        new = Inference(self.handoff, self.done, self.stats, self.started)
        self.started += 1
        new.start()
        self.workers[i] = new
        log.error("model worker %s stuck for %.1f s on a batch of %d messages: they are answered `internal`, "
                  "%s takes its place", w.name, time.monotonic() - started, len(f.requests), new.name)
