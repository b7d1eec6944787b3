"""`hush serve`: the daemon's lifecycle, and its I/O thread.

    sensors --PUB/PUSH--> [input SUB/PULL] I/O thread: receive, decode --> Inference --> Sender --> [output XPUB]

The I/O thread (the caller of `run`) owns the input socket and the control socket; the worker threads are
in pipeline.py. Every message read gets exactly one answer: its denoised windows, or an error (a bad
message, an `overloaded` drop, or `internal` if the model fails). So the counters reconcile:
messages read = answered + rejected (errors, drops included), once the daemon has caught up.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import msgpack
import zmq

from hush import faults, modelfile, protocol
from hush.config import ServeConfig
from hush.daemon.admission import PUSHED_OUT, QUEUE_FULL
from hush.daemon.pipeline import Finished, Handoff, Inference, Sender, ServeError, Watch, attach
from hush.daemon.stats import Stats
from hush.daemon.streams import SeqTracker
from hush.runtime.runner import Runner

__all__ = ["Server", "ServeError"]
log = logging.getLogger("hush.serve")


def resolve_workers(workers: int) -> int:
    """0 means one model worker per core."""
    return workers or max(1, min(8, os.cpu_count() or 1))


def load_runner(cfg: ServeConfig, path: str | Path | None = None) -> Runner:
    from hush.paths import DEFAULT_MODEL

    workers = resolve_workers(cfg.workers)
    # Several workers: each runs its own batch on one thread (0 = automatic means 1 then).
    intra = cfg.intra_op_threads or (1 if workers > 1 else 0)
    return Runner.load(path or cfg.model or DEFAULT_MODEL, cfg.max_batch, engine=cfg.engine, intra_op_threads=intra,
                       inter_op_threads=cfg.inter_op_threads, workers=workers)


def preflight(cfg: ServeConfig) -> None:
    """Everything that can be checked without the model, checked first, so a wrong endpoint, a port in use
    or a missing file fails within a second, naming it: each endpoint is bound (or connected) once on a
    throwaway socket, the metrics port likewise, the model file's metadata and the CURVE files read."""
    import socket

    from hush.paths import DEFAULT_MODEL

    ctx = zmq.Context()
    try:
        for what, endpoint, mode in (("input", cfg.input, cfg.input_mode), ("output", cfg.output, cfg.output_mode),
                                     ("control", cfg.control, "bind")):
            if endpoint:
                sock = ctx.socket(zmq.PUB)
                try:
                    attach(sock, endpoint, mode, what)
                finally:
                    sock.close(linger=0)
    finally:
        ctx.term()
    if cfg.metrics_port:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", cfg.metrics_port))
            except OSError as exc:
                raise ServeError(f"cannot serve /metrics on 127.0.0.1:{cfg.metrics_port} (metrics_port): "
                                 f"{exc.strerror or exc}") from None
    modelfile.read_meta(cfg.model or DEFAULT_MODEL)
    for key in ("curve_secret_key", "curve_clients_dir"):
        path = getattr(cfg, key)
        if path and not Path(path).exists():
            raise ServeError(f"{key} {path} does not exist")


class _AllowedKeys:
    """The CURVE keys in curve_clients_dir (read at start); a refused key is logged once, with the key, so the
    operator can tell a peer with an unlisted key from one that is not there at all."""

    def __init__(self, directory: str):
        import zmq.auth

        self.directory = directory
        self.keys = set(zmq.auth.load_certificates(directory))
        self.refused: set[bytes] = set()

    def callback(self, domain: str, key: bytes) -> bool:
        if key in self.keys:
            return True
        if key not in self.refused and len(self.refused) < 1000:
            self.refused.add(key)
            log.warning("refused a CURVE client: its public key %s is not in %s", key.decode(), self.directory)
        return False


class Server:
    """`Server(config).run()`; `should_exit = True` (or SIGINT/SIGTERM) stops it cleanly, SIGHUP (or the
    control command `reload`) swaps in a new model without losing a window."""

    def __init__(self, config: ServeConfig, runner: Runner | None = None):
        self.config = config
        self.runner = runner
        self.stats = Stats(config.max_streams)
        self.should_exit = False
        self.exit_code = 0  # 1 after a fatal fault inside (a thread that died)
        self.ready = threading.Event()  # set when both sockets are up and the model is warm
        self.input_endpoint = ""
        self.output_endpoint = ""
        self.control_endpoint = ""
        self.handoff: Handoff | None = None
        self._reload_requested = False
        self._reloading: threading.Thread | None = None
        self._pending_reply: dict[str, Any] | None = None  # a reload's control reply, sent once it is done
        self._seqs = SeqTracker(config.max_streams, config.stream_idle_s)
        self._gap_logs = 0

    # --- signals and reload ------------------------------------------------------------------------------

    def handle_signal(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGHUP:
            self._reload_requested = True  # the I/O loop starts the reload; a handler only sets flags
            return
        if self.should_exit:  # a second signal: the user means it
            log.warning("second signal: exiting now, unsent output is lost")
            raise SystemExit(1)
        log.info("signal %s: finishing accepted windows, then exiting", signal.Signals(sig).name)
        self.should_exit = True

    def reload(self, path: str | None = None, wait: bool = False) -> dict[str, Any]:
        """Load `path` (default: the configured model) in the background, check it serves the same window
        length, warm it, then swap it in between batches. A model that fails any of that is refused and
        the old one keeps serving."""
        if self._reloading and self._reloading.is_alive():
            return {"ok": False, "detail": "a reload is already running"}
        result: dict[str, Any] = {"ok": False, "detail": "still loading"}

        def work() -> None:
            try:
                new = load_runner(self.config, path)
                old = self.handoff.runner if self.handoff else self.runner
                if old is not None and new.window != old.window:
                    raise ValueError(f"it serves windows of {new.window}, the running model {old.window}; "
                                     "clients would break")
                if self.handoff is not None:
                    self.handoff.runner = new  # atomic: a batch already running keeps the model it started with
                self.runner = new
                self.stats.reloads["ok"] += 1
                result.update(ok=True, detail=f"now serving {new.model_id}", model=new.model_id)
                log.info("reloaded: now serving model %s", new.model_id)
            except Exception as exc:
                self.stats.reloads["refused"] += 1
                result.update(ok=False, detail=f"refused {path or self.config.model or 'the default model'}: {exc}")
                log.error("reload %s", result["detail"])

        self._reloading = threading.Thread(target=work, name="hush-reload", daemon=True)
        self._reloading.start()
        if wait:
            self._reloading.join()
        return result

    # --- run ---------------------------------------------------------------------------------------------

    def run(self, install_signals: bool = True) -> int:
        cfg = self.config
        if self.runner is None:
            preflight(cfg)  # seconds before the model loads, not after
            self.runner = load_runner(cfg)
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, self.handle_signal)
        ctx = zmq.Context()
        auth = None
        try:
            security, auth = self._security(ctx)
            self._serve(ctx, self.runner, security)
        finally:
            if auth is not None:
                auth.stop()
            if self.exit_code:
                ctx.destroy(linger=0)  # a thread that died may have left its socket open
            else:
                ctx.term()  # waits for the output socket's bounded linger
        log.info("stopped: %s", self.stats.summary(0))
        return self.exit_code

    def _security(self, ctx: zmq.Context) -> tuple[Any, Any]:
        """CURVE on both sockets, with ZAP checking client keys against curve_clients_dir, when configured."""
        cfg = self.config
        if not cfg.curve_secret_key:
            return None, None
        import zmq.auth
        from zmq.auth.thread import ThreadAuthenticator

        try:
            public, secret = zmq.auth.load_certificate(cfg.curve_secret_key)
        except (OSError, ValueError) as exc:
            raise ServeError(f"cannot read the CURVE secret key {cfg.curve_secret_key}: {exc}") from None
        if secret is None:
            raise ServeError(f"{cfg.curve_secret_key} holds no secret key (use the .key_secret file)")
        if not Path(cfg.curve_clients_dir).is_dir():
            raise ServeError(f"curve_clients_dir {cfg.curve_clients_dir} is not a directory")
        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.configure_curve_callback(domain="*", credentials_provider=_AllowedKeys(cfg.curve_clients_dir))

        def secure(sock: zmq.Socket) -> None:
            sock.curve_secretkey = secret
            sock.curve_publickey = public
            sock.curve_server = True

        log.info("CURVE on: clients must hold a key listed in %s", cfg.curve_clients_dir)
        return secure, auth

    def _serve(self, ctx: zmq.Context, runner: Runner, security: Any) -> None:
        cfg = self.config
        handoff = self.handoff = Handoff(cfg, runner)
        workers = resolve_workers(cfg.workers)
        done: queue.Queue[Finished | None] = queue.Queue(maxsize=2 * workers)  # each worker one batch ahead
        sender = Sender(ctx, cfg, handoff, done, self.stats, workers, security)
        sender.start()
        sender.bound.wait()
        if sender.error:
            raise sender.error
        self.output_endpoint = sender.endpoint
        try:
            insock, control = self._open_input(ctx, security)
        except ServeError:
            for _ in range(workers):
                done.put(None)
            sender.join()
            raise
        try:
            metrics = self._start_metrics()
        except ServeError:  # the port was taken since the preflight: stop cleanly
            insock.close(linger=0)
            if control is not None:
                control.close(linger=0)
            for _ in range(workers):
                done.put(None)
            sender.join()
            raise
        log.info("serving model %s (window %d, scaling %s): input %s (%s, %s), output %s (%s), max_batch %d, "
                 "max_wait_ms %g, %d model workers%s%s", runner.model_id, runner.window, runner.scaling,
                 self.input_endpoint, cfg.input_type, cfg.input_mode, self.output_endpoint, cfg.output_mode,
                 cfg.max_batch, cfg.max_wait_ms, workers, f", control {self.control_endpoint}" if control else "",
                 f", metrics http://127.0.0.1:{cfg.metrics_port}/metrics" if cfg.metrics_port else "")
        inference = [Inference(handoff, done, self.stats, n) for n in range(workers)]
        for worker in inference:
            worker.start()
        self.ready.set()
        self._loop(insock, control, handoff, Watch(inference, sender, done, handoff, self.stats, cfg))

        # Shutdown, in order:
        # 1. Stop taking input. Messages still queued in ZeroMQ were never read, so nothing is owed.
        insock.close(linger=0)
        if control is not None:
            control.close(linger=0)
        if metrics is not None:
            metrics.shutdown()
        # 2. Inference runs everything accepted, then tells the sender there is no more.
        with handoff.cond:
            handoff.closing = True
            handoff.cond.notify_all()
        # After a fatal fault, a few seconds at most: exiting non-zero beats hanging.
        limit = 5.0 if self.exit_code else None
        for worker in inference:
            worker.join(limit)
        # 3. The sender publishes it all, then closes its socket with a bounded linger.
        sender.join(limit)

    def _start_metrics(self) -> Any:
        """Prometheus /metrics on 127.0.0.1:metrics_port (None when off); ServeError names a port in use."""
        port = self.config.metrics_port
        if not port:
            return None
        from hush.daemon.metrics import serve_metrics

        try:
            return serve_metrics(port, self)
        except OSError as exc:
            raise ServeError(f"cannot serve /metrics on 127.0.0.1:{port} (metrics_port): {exc.strerror or exc}") \
                from None

    def _open_input(self, ctx: zmq.Context, security: Any) -> tuple[zmq.Socket, zmq.Socket | None]:
        """The input socket (SUB or PULL) and the control socket (REP, if configured), bound or connected."""
        cfg = self.config
        insock = ctx.socket(zmq.SUB if cfg.input_type == "sub" else zmq.PULL)
        insock.setsockopt(zmq.RCVHWM, cfg.hwm)
        insock.setsockopt(zmq.MAXMSGSIZE, cfg.max_message_bytes)
        if cfg.input_type == "sub":
            insock.setsockopt(zmq.SUBSCRIBE, b"")
        if security:
            security(insock)
        control = ctx.socket(zmq.REP) if cfg.control else None
        try:
            self.input_endpoint = attach(insock, cfg.input, cfg.input_mode, "input")
            if control is not None:
                control.setsockopt(zmq.MAXMSGSIZE, 65536)
                self.control_endpoint = attach(control, cfg.control, "bind", "control")
        except ServeError:
            insock.close(linger=0)
            if control is not None:
                control.close(linger=0)
            raise
        return insock, control

    def _loop(self, insock: zmq.Socket, control: zmq.Socket | None, handoff: Handoff, watch: Watch) -> None:
        """The I/O thread until should_exit: read input, answer control requests, start reloads, log, and
        watch the other threads (a stuck model worker is replaced; a dead thread ends the daemon, code 1)."""
        cfg = self.config
        workers = len(watch.workers)
        backed_up = workers * cfg.max_batch  # a full batch waits for every worker
        poller = zmq.Poller()
        poller.register(insock, zmq.POLLIN)
        if control is not None:
            poller.register(control, zmq.POLLIN)
        next_stats = time.perf_counter() + cfg.stats_interval_s
        last_seen: tuple[int, ...] = ()
        accepted: list[tuple[protocol.Request | None, list[bytes] | None]] = []
        while not self.should_exit:
            events = dict(poller.poll(100))
            if control is not None and self._pending_reply is not None:
                self._reply_when_reloaded(control)
            elif control is not None and control in events:
                self._control(control)
            if insock in events and self._drain(insock, handoff, accepted) and cfg.backlog_nap_ms:
                waiting = len(handoff.queue)
                if waiting >= backed_up:
                    # All read, and the model is behind: what arrives next would only wait in the queue.
                    # Let ZeroMQ gather it for a moment and read it in one go. On 2 cores, waking for every
                    # message took the model's CPU, and the daemon stayed overloaded at loads it could
                    # otherwise carry (docs/performance.md). Never longer than half the time the workers
                    # need for what waits, so they cannot run dry; and only once all that arrived is read,
                    # so an overload still shows as `overloaded` drops, not as a backlog inside ZeroMQ.
                    per_window = self.stats.model_s / max(1, self.stats.model_windows)
                    time.sleep(min(cfg.backlog_nap_ms / 1000, waiting * per_window / workers / 2))
            fatal = watch.check()
            if fatal:
                log.critical("%s; exiting with code 1", fatal)
                self.exit_code, self.should_exit = 1, True
                break
            if self._reload_requested:
                self._reload_requested = False
                log.info("SIGHUP: reloading %s", cfg.model or "the default model")
                self.reload()
            now = time.perf_counter()
            if cfg.stats_interval_s and now >= next_stats:
                next_stats = now + cfg.stats_interval_s
                self._gap_logs = 0
                seen = (self.stats.received, self.stats.messages_out, sum(self.stats.errors.values()),
                        len(handoff.queue))
                if seen != last_seen:  # an idle daemon does not repeat the same line every interval
                    last_seen = seen
                    log.info(self.stats.summary(len(handoff.queue)))

    def _drain(self, insock: zmq.Socket, handoff: Handoff,
               accepted: list[tuple[protocol.Request | None, list[bytes] | None]]) -> bool:
        """Read what has arrived, in chunks of max_batch messages, each decoded outside the lock and handed
        over at once; True when the socket was emptied (False: more than 16 chunks waited; the loop comes
        back after a look at the control socket). Full (SUB input): drop without decoding the samples,
        which would take the model's CPU."""
        cfg = self.config
        for _ in range(16):
            full = handoff.queue.full()
            for _ in range(cfg.max_batch):
                try:
                    frames = insock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                accepted.append(self._drop_or_accept(frames, handoff) if full else self._accept(frames))
            got = len(accepted)
            self._hand_over(handoff, accepted)
            accepted.clear()
            if got < cfg.max_batch or self.should_exit:
                return got < cfg.max_batch
        return False

    def _hand_over(self, handoff: Handoff, accepted: list[tuple[protocol.Request | None, list[bytes] | None]]) -> None:
        """Give decoded requests to the model workers and errors to the sender, by the admission rules
        (admission.py): SUB input refuses what would pass the queue limit, PULL input stops reading until
        there is room, so ZeroMQ holds the senders back and nothing is lost."""
        q = handoff.queue
        with handoff.cond:
            for req, err in accepted:
                if req is None:
                    handoff.errors.append(err)  # type: ignore[arg-type]
                    continue
                k = len(req.samples)
                try:
                    faults.hit("handoff_in")
                except Exception as exc:
                    log.exception("handing a message to the model workers failed")
                    self.stats.errors["internal"] += 1
                    handoff.errors.append(protocol.encode_error("internal", f"the daemon failed to queue it: {exc}"
                                                                [:200], req.topic, req.seq))
                    continue
                if not q.admit(req, k, req.received, req.topic):
                    handoff.errors.append(self.stats.drop(req.topic, req.seq, k, QUEUE_FULL))
                    continue
                self.stats.messages_in += 1
                self.stats.windows_in += k
                if q.evicted:  # pushed out for this one: a hog's newest (counted in, as one too old is)
                    for old in q.evicted:
                        handoff.errors.append(self.stats.drop(old.topic, old.seq, len(old.samples), PUSHED_OUT))
                    q.evicted.clear()
            handoff.cond.notify()  # one idle worker is enough; waking all would only contend
            while not q.rules.drop and not q.has_room() and not self.should_exit:
                handoff.cond.wait(0.1)

    def _drop_or_accept(self, frames: list[bytes], handoff: Handoff) -> tuple[protocol.Request | None,
                                                                             list[bytes] | None]:
        """A message read while the queue is full: its stream id and window count are read, and it is
        answered `overloaded` without decoding its samples if its stream holds the most of the queue
        (admission.py); else decoded, to push a hog's newest out when it is handed over."""
        topic, seq, windows = protocol.peek(frames, handoff.runner.window)
        with handoff.cond:
            refused = handoff.queue.refuses(topic, windows)
        if not refused:
            return self._accept(frames)
        self.stats.received += 1
        if topic is not None and seq is not None:
            self._check_seq(topic, seq)  # a drop is not a gap: the stream's next seq must not count it
        return None, self.stats.drop(topic, seq, windows, QUEUE_FULL)

    def _accept(self, frames: list[bytes]) -> tuple[protocol.Request | None, list[bytes] | None]:
        """Decode one message: (request, None), or (None, error frames) for a bad one."""
        cfg, runner = self.config, self.handoff.runner if self.handoff else self.runner
        assert runner is not None
        self.stats.received += 1
        try:
            faults.hit("decode")
            win = protocol.decode_window(frames, runner.window, cfg.max_windows_per_message, cfg.max_extra_bytes)
        except protocol.ProtocolError as exc:
            self.stats.errors[exc.code] += 1
            return None, protocol.encode_error(exc.code, exc.detail, exc.topic, exc.seq)
        except Exception as exc:  # a bug in decoding: this message gets `internal`, the daemon goes on
            log.exception("decoding a message failed")
            self.stats.errors["internal"] += 1
            topic, seq, _ = protocol.peek(frames, runner.window)
            return None, protocol.encode_error("internal", f"the daemon failed to decode it: {exc}"[:200], topic,
                                               seq)
        win.received = time.perf_counter()
        self._check_seq(win.topic, win.seq)
        return win, None

    def _check_seq(self, topic: bytes, seq: int) -> None:
        """Count and log windows missing between a stream's seqs (lost before they reached the daemon)."""
        missing, last = self._seqs.see(topic, seq, time.monotonic())
        if missing:
            self.stats.seq_gaps.add(topic.decode(), missing)
            if self._gap_logs < 10:  # at most 10 lines per summary interval
                self._gap_logs += 1
                log.warning("stream %s: %d window(s) missing between seq %d and %d", topic.decode(), missing, last,
                            seq)

    def _control(self, sock: zmq.Socket) -> None:
        """One control request (docs/protocol.md, "Control"): {"cmd": "reload", "model": path?} or
        {"cmd": "stats"}; every request gets one reply, {"ok": false, "detail": why} when it cannot be done."""
        try:
            req = protocol.decode_control(sock.recv())
            cmd = req.get("cmd")
            if cmd == "reload":
                model = req.get("model")
                reply = self.reload(model if isinstance(model, str) else None)
                if reply.get("detail") == "still loading":
                    # Loading and warming take seconds: the reply leaves when it is done (_reply_when_reloaded),
                    # and meanwhile this thread goes on reading input. REP takes no request until then.
                    self._pending_reply = reply
                    return
            elif cmd == "stats":
                reply = {"ok": True, **self.counters()}
            else:
                reply = {"ok": False, "detail": f"unknown command {cmd!r}; expected 'reload' or 'stats'"}
        except Exception as exc:
            reply = {"ok": False, "detail": f"bad request: {exc}"}
        sock.send(msgpack.packb(reply))

    def _reply_when_reloaded(self, sock: zmq.Socket) -> None:
        if self._pending_reply is not None and not (self._reloading and self._reloading.is_alive()):
            reply, self._pending_reply = self._pending_reply, None
            sock.send(msgpack.packb(reply))

    def counters(self) -> dict[str, Any]:
        s = self.stats
        runner = self.handoff.runner if self.handoff else self.runner
        return {"model": runner.model_id if runner else None, "received": s.received,
                "messages_in": s.messages_in, "messages_out": s.messages_out, "windows_in": s.windows_in,
                "windows_out": s.windows_out, "errors": dict(s.errors), "dropped": sum(s.dropped.values()),
                "seq_gaps": sum(s.seq_gaps.values()), "reloads": dict(s.reloads), "unsent": s.unsent,
                "workers_abandoned": s.abandoned,
                "queue": len(self.handoff.queue) if self.handoff else 0}

