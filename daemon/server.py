"""`hush serve`: the daemon's lifecycle and its two threads.

    sensors --PUB--> [input SUB] I/O thread: receive, decode, batch --queue--> sender thread: model, encode,
                                                                              publish --> [output XPUB] --> subscribers

The I/O thread (the caller of `run`) owns the input socket; the sender thread owns the output socket
(pyzmq: sockets live in the thread that made them). TensorFlow releases the GIL while the model runs, so
receiving and decoding the next batch overlaps with the current one. Every accepted window gets exactly
one answer: its denoised window, or an error (a bad message at once; `internal` if the model fails).
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from types import FrameType

import msgpack
import numpy as np
import zmq
from hush.daemon.batcher import Batcher
from hush.daemon.runner import Runner
from hush.daemon.stats import Stats

from hush import protocol
from hush.config import ServeConfig

log = logging.getLogger("hush.serve")


class ServeError(RuntimeError):
    """The daemon cannot start (a socket cannot be bound, the model cannot be served)."""


@dataclass
class Work:
    """One hand-off from the I/O thread to the sender: a batch of windows and the errors seen meanwhile."""

    windows: list[protocol.Window] = field(default_factory=list)
    errors: list[list[bytes]] = field(default_factory=list)


_STOP = Work()  # the last item the sender takes


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


class Sender(threading.Thread):
    """Runs batches through the model and publishes answers and errors on the output socket."""

    def __init__(self, ctx: zmq.Context, cfg: ServeConfig, runner: Runner, work: queue.Queue[Work],
                 stats: Stats):
        super().__init__(name="hush-sender", daemon=True)
        self.ctx, self.cfg, self.runner, self.work, self.stats = ctx, cfg, runner, work, stats
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
        try:
            self.endpoint = attach(sock, self.cfg.output, self.cfg.output_mode, "output")
        except ServeError as exc:
            self.error = exc
            sock.close(linger=0)
            self.bound.set()
            return
        self.bound.set()
        try:
            while True:
                self._hear_subscriptions(sock)
                try:
                    item = self.work.get(timeout=0.05)
                except queue.Empty:
                    continue
                if item is _STOP:
                    break
                for frames in item.errors:
                    sock.send_multipart(frames)
                if item.windows:
                    self._answer(sock, item.windows)
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
                hello = {"model": self.runner.model_id, "window": self.runner.window,
                         "protocol": protocol.VERSION, "prefix": msg[1:].decode("utf-8", "replace")}
                sock.send_multipart([protocol.READY_TOPIC, msgpack.packb(hello)])

    def _answer(self, sock: zmq.Socket, windows: list[protocol.Window]) -> None:
        x = np.concatenate([w.samples for w in windows])
        try:
            y = self.runner.denoise(x)
            if y.shape != x.shape:
                raise RuntimeError(f"the model returned shape {y.shape} for input {x.shape}")
        except Exception as exc:  # every waiting window still gets its one answer
            log.exception("model failed on a batch of %d windows", len(x))
            for w in windows:
                self.stats.errors["internal"] += 1
                sock.send_multipart(protocol.encode_error("internal", f"the model failed: {exc}"[:200],
                                                          w.topic, w.seq))
            return
        model_id, i, done = self.runner.model_id, 0, []
        for w in windows:
            k = len(w.samples)
            sock.send_multipart(protocol.encode_output(w, y[i:i + k], model_id))
            i += k
            done.append(w.received)
        now = time.perf_counter()
        self.stats.record_latency([now - t for t in done])
        self.stats.batches += 1
        self.stats.batch_windows += len(x)
        self.stats.windows_out += len(x)
        self.stats.messages_out += len(windows)


class Server:
    """`Server(config).run()`; `should_exit = True` (or SIGINT/SIGTERM) stops it cleanly."""

    def __init__(self, config: ServeConfig, runner: Runner | None = None):
        self.config = config
        self.runner = runner
        self.stats = Stats()
        self.should_exit = False
        self.ready = threading.Event()  # set when both sockets are up and the model is warm
        self.input_endpoint = ""
        self.output_endpoint = ""

    def handle_signal(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit:  # a second signal: the user means it
            log.warning("second signal: exiting now, unsent output is lost")
            raise SystemExit(1)
        log.info("signal %s: finishing accepted windows, then exiting", signal.Signals(sig).name)
        self.should_exit = True

    def run(self, install_signals: bool = True) -> int:
        cfg = self.config
        if self.runner is None:
            from hush.paths import DEFAULT_MODEL

            self.runner = Runner.load(cfg.model or DEFAULT_MODEL, cfg.max_batch,
                                      intra_op_threads=cfg.intra_op_threads, inter_op_threads=cfg.inter_op_threads)
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, self.handle_signal)
        ctx = zmq.Context()
        try:
            self._serve(ctx, self.runner)
        finally:
            ctx.term()  # waits for the output socket's bounded linger
        log.info("stopped: %s", self.stats.summary(0))
        return 0

    def _serve(self, ctx: zmq.Context, runner: Runner) -> None:
        cfg = self.config
        work: queue.Queue[Work] = queue.Queue(maxsize=cfg.queue_batches)
        sender = Sender(ctx, cfg, runner, work, self.stats)
        sender.start()
        sender.bound.wait()
        if sender.error:
            raise sender.error
        self.output_endpoint = sender.endpoint
        insock = ctx.socket(zmq.SUB)
        insock.setsockopt(zmq.RCVHWM, cfg.hwm)
        insock.setsockopt(zmq.MAXMSGSIZE, cfg.max_message_bytes)
        insock.setsockopt(zmq.SUBSCRIBE, b"")
        try:
            self.input_endpoint = attach(insock, cfg.input, cfg.input_mode, "input")
        except ServeError:
            insock.close(linger=0)
            work.put(_STOP)
            sender.join()
            raise
        log.info("serving model %s (window %d, scaling %s): input %s (%s), output %s (%s), max_batch %d, "
                 "max_wait_ms %g", runner.model_id, runner.window, runner.scaling, self.input_endpoint,
                 cfg.input_mode, self.output_endpoint, cfg.output_mode, cfg.max_batch, cfg.max_wait_ms)
        self.ready.set()

        batcher: Batcher[protocol.Window] = Batcher(cfg.max_batch, cfg.max_wait_ms / 1000)
        errors: list[list[bytes]] = []
        poller = zmq.Poller()
        poller.register(insock, zmq.POLLIN)
        next_stats = time.perf_counter() + cfg.stats_interval_s

        def hand(windows: list[protocol.Window]) -> None:
            nonlocal errors
            if windows or errors:
                work.put(Work(windows, errors))  # blocks when the model is behind: backpressure to ZeroMQ
                errors = []

        while not self.should_exit:
            deadline = batcher.deadline()
            now = time.perf_counter()
            timeout_ms = 100.0 if deadline is None else max(0.0, (deadline - now) * 1000)
            if poller.poll(int(timeout_ms) if timeout_ms >= 1 else (1 if timeout_ms > 0 else 0)):
                # Drain what has arrived, but at most a bounded count, so the deadline is checked often.
                for _ in range(4 * cfg.max_batch):
                    try:
                        frames = insock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    now = time.perf_counter()
                    self._accept(frames, now, batcher, errors)
                    if len(batcher) >= cfg.max_batch:
                        hand(batcher.take(now))
            now = time.perf_counter()
            hand(batcher.take(now))
            if cfg.stats_interval_s and now >= next_stats:
                next_stats = now + cfg.stats_interval_s
                log.info(self.stats.summary(work.qsize()))

        # Shutdown, in order:
        # 1. Stop taking input. Messages still queued in ZeroMQ were never accepted, so nothing is owed.
        insock.close(linger=0)
        # 2. Everything accepted goes to the model, and the errors to the output.
        hand(batcher.take(time.perf_counter(), force=True))
        # 3. The sender publishes all of it, then closes its socket with a bounded linger.
        work.put(_STOP)
        sender.join()

    def _accept(self, frames: list[bytes], now: float, batcher: Batcher[protocol.Window],
                errors: list[list[bytes]]) -> None:
        cfg, runner = self.config, self.runner
        assert runner is not None
        try:
            win = protocol.decode_window(frames, runner.window, cfg.max_windows_per_message, cfg.max_extra_bytes)
        except protocol.ProtocolError as exc:
            self.stats.errors[exc.code] += 1
            errors.append(protocol.encode_error(exc.code, exc.detail, exc.topic, exc.seq))
            return
        win.received = now
        self.stats.messages_in += 1
        self.stats.windows_in += len(win.samples)
        batcher.add(win, now, windows=len(win.samples))
