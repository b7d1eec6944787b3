"""`hush serve`: the daemon's lifecycle, and its I/O thread.

    sensors --PUB--> [input SUB] I/O thread: receive, decode --> Inference --> Sender --> [output XPUB]

The I/O thread (the caller of `run`) owns the input socket; the worker threads are in pipeline.py. Every
accepted window gets exactly one answer: its denoised window, or an error (a bad message at once;
`internal` if the model fails).
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from types import FrameType

import zmq

from hush import protocol
from hush.config import ServeConfig
from hush.daemon.pipeline import Done, Inference, Sender, ServeError, Shared, attach
from hush.daemon.runner import Runner
from hush.daemon.stats import Stats

__all__ = ["Server", "ServeError"]

log = logging.getLogger("hush.serve")


def resolve_workers(workers: int) -> int:
    """0 means one model worker per core."""
    return workers or max(1, min(8, os.cpu_count() or 1))


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

            workers = resolve_workers(cfg.workers)
            # Several workers: each runs its own batch on one thread (0 = automatic means 1 then).
            intra = cfg.intra_op_threads or (1 if workers > 1 else 0)
            self.runner = Runner.load(cfg.model or DEFAULT_MODEL, cfg.max_batch, xla=cfg.xla,
                                      intra_op_threads=intra, inter_op_threads=cfg.inter_op_threads)
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
        shared = self.shared = Shared(cfg)
        workers = resolve_workers(cfg.workers)
        done: queue.Queue[Done | None] = queue.Queue(maxsize=2 * workers)  # each worker one batch ahead
        sender = Sender(ctx, cfg, runner, done, self.stats, workers)
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
            for _ in range(workers):
                done.put(None)
            sender.join()
            raise
        log.info("serving model %s (window %d, scaling %s): input %s (%s), output %s (%s), max_batch %d, "
                 "max_wait_ms %g, %d model workers", runner.model_id, runner.window, runner.scaling,
                 self.input_endpoint, cfg.input_mode, self.output_endpoint, cfg.output_mode, cfg.max_batch,
                 cfg.max_wait_ms, workers)
        inference = [Inference(runner, shared, done, self.stats, n) for n in range(workers)]
        for worker in inference:
            worker.start()
        self.ready.set()

        next_stats = time.perf_counter() + cfg.stats_interval_s
        accepted: list[tuple[protocol.Window | None, list[bytes] | None]] = []
        while not self.should_exit:
            if insock.poll(100):
                # Drain what has arrived (bounded), decoding outside the lock, then hand it over at once.
                for _ in range(cfg.max_batch):
                    try:
                        frames = insock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    accepted.append(self._accept(frames))
                with shared.cond:
                    for win, err in accepted:
                        if win is not None:
                            shared.batcher.add(win, win.received, windows=len(win.samples))
                        else:
                            shared.errors.append(err)  # type: ignore[arg-type]
                    shared.cond.notify()  # one idle worker is enough; waking all would only contend
                    # Backpressure: while the model is far behind, stop reading; ZeroMQ queues the rest.
                    while len(shared.batcher) >= shared.limit and not self.should_exit:
                        shared.cond.wait(0.1)
                accepted.clear()
            now = time.perf_counter()
            if cfg.stats_interval_s and now >= next_stats:
                next_stats = now + cfg.stats_interval_s
                log.info(self.stats.summary(len(shared.batcher)))

        # Shutdown, in order:
        # 1. Stop taking input. Messages still queued in ZeroMQ were never accepted, so nothing is owed.
        insock.close(linger=0)
        # 2. Inference runs everything accepted, then tells the sender there is no more.
        with shared.cond:
            shared.closing = True
            shared.cond.notify_all()
        for worker in inference:
            worker.join()
        # 3. The sender publishes it all, then closes its socket with a bounded linger.
        sender.join()

    def _accept(self, frames: list[bytes]) -> tuple[protocol.Window | None, list[bytes] | None]:
        """Decode one message: (window, None), or (None, error frames) for a bad one."""
        cfg, runner = self.config, self.runner
        assert runner is not None
        try:
            win = protocol.decode_window(frames, runner.window, cfg.max_windows_per_message, cfg.max_extra_bytes)
        except protocol.ProtocolError as exc:
            self.stats.errors[exc.code] += 1
            return None, protocol.encode_error(exc.code, exc.detail, exc.topic, exc.seq)
        win.received = time.perf_counter()
        self.stats.messages_in += 1
        self.stats.windows_in += len(win.samples)
        return win, None
