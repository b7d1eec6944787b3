"""`hush route`: one input in front of several daemons, each stream kept on one daemon, so that its answers
reach subscribers in seq order (what `--stitch` needs) however many daemons share the load.

    sensors --PUB/PUSH--> [input SUB/PULL] router --PUSH, one per daemon--> [PULL] daemon (input_type pull)
    subscribers <--[output XPUB] router <--SUB, one per daemon-- [XPUB] daemon output

- **Affinity.** A stream goes to the live daemon that scores highest for it (rendezvous hashing of the
  stream id with each daemon's input endpoint): the same daemon for as long as it is up, the same choice in
  any router given the same daemons, and when one goes, only its streams move.
- **Order.** The router forwards every answer, so it knows each stream's windows in flight. A stream moves
  to another daemon only when none of its windows is in flight: two daemons never hold one stream at once.
- **A daemon that goes** (its process ended, its machine went silent past `heartbeat_s`: ZeroMQ heartbeats):
  each of its windows in flight is answered `lost` at once, on the stream's `!error/` topic with its seq, and
  the stream's next window goes to another daemon. An answer that still comes from it later is dropped (and
  counted), so every window gets exactly one reply. When it comes back (its hello on !ready), new streams,
  and streams with nothing in flight, are dealt to it again.
- **Stopping.** Input stops; answers to windows in flight are forwarded for up to 5 s more.
- **Overload.** A daemon whose queue is full (the PUSH high-water mark): SUB input answers the window
  `overloaded`, PULL input holds it (and stops reading) until that daemon takes it or goes.
"""

from __future__ import annotations

import collections
import logging
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from hush import protocol
from hush.config import RouteConfig
from hush.daemon.pipeline import ServeError, attach

log = logging.getLogger("hush.route")


def parse_daemons(specs: list[str]) -> list[tuple[str, str]]:
    """INPUT=OUTPUT pairs, checked: at least one, each with both endpoints."""
    if not specs:
        raise ServeError("no daemons to route to: give --daemons INPUT=OUTPUT ... (or [route] daemons)")
    pairs = []
    for spec in specs:
        inp, sep, out = spec.partition("=")
        if not sep or "://" not in inp or "://" not in out:
            raise ServeError(f"daemon {spec!r} must be INPUT=OUTPUT, two endpoints such as "
                             "tcp://127.0.0.1:5600=tcp://127.0.0.1:5601")
        pairs.append((inp, out))
    return pairs


@dataclass
class Daemon:
    """One daemon behind the router: a PUSH to its input (with a monitor), a SUB on its output."""

    index: int
    input: str
    output: str
    push: zmq.Socket
    sub: zmq.Socket
    monitor: zmq.Socket
    connected: bool = False  # the PUSH's connection is up (handshake done, not dropped since)
    hello: dict[str, Any] | None = None  # its !ready since it connected: answers now reach us

    @property
    def up(self) -> bool:
        return self.connected and self.hello is not None

    def score(self, stream: bytes) -> int:
        return zlib.crc32(stream, zlib.crc32(self.input.encode()))


@dataclass
class Counts:
    routed: int = 0
    answered: int = 0
    lost: int = 0  # windows in flight on a daemon that went: answered `lost`
    late: int = 0  # answers dropped: their window was already answered `lost`
    overloaded: int = 0
    per_daemon: collections.Counter[int] = field(default_factory=collections.Counter)


class Router:
    def __init__(self, cfg: RouteConfig, ctx: zmq.Context | None = None):
        self.cfg = cfg
        self.pairs = parse_daemons(cfg.daemons)
        self.ctx = ctx or zmq.Context.instance()
        self.counts = Counts()
        self.flight: dict[bytes, tuple[int, collections.deque[int]]] = {}  # stream -> (daemon, seqs in flight)
        self.held: tuple[Daemon, list[bytes]] | None = None  # PULL input: a message its daemon cannot take yet
        self.reroute: list[list[bytes]] = []  # PULL input: messages held for a daemon that went away
        self.waiting_prefixes: list[bytes] = []  # subscriptions to greet once a daemon is up
        self.should_exit = False
        self.input_endpoint = self.output_endpoint = ""
        self.daemons: list[Daemon] = []

    def up(self) -> int:
        """How many daemons are up now."""
        return sum(d.up for d in self.daemons)

    # --- sockets ---------------------------------------------------------------------------------------------

    def _open(self) -> tuple[zmq.Socket, zmq.Socket, list[Daemon]]:
        cfg, ctx = self.cfg, self.ctx
        inp = ctx.socket(zmq.SUB if cfg.input_type == "sub" else zmq.PULL)
        out = ctx.socket(zmq.XPUB)
        socks = [inp, out]
        try:
            inp.setsockopt(zmq.RCVHWM, cfg.hwm)
            if cfg.input_type == "sub":
                inp.setsockopt(zmq.SUBSCRIBE, b"")
            out.setsockopt(zmq.SNDHWM, cfg.hwm)
            out.setsockopt(zmq.XPUB_VERBOSE, 1)
            self.output_endpoint = attach(out, cfg.output, "bind", "output")
            self.input_endpoint = attach(inp, cfg.input, "bind", "input")
            daemons = []
            for i, (d_in, d_out) in enumerate(self.pairs):
                daemons.append(self._daemon(i, d_in, d_out))
                socks += [daemons[-1].push, daemons[-1].sub, daemons[-1].monitor]
        except BaseException:
            for s in socks:
                s.close(linger=0)
            raise
        return inp, out, daemons

    def _daemon(self, i: int, d_in: str, d_out: str) -> Daemon:
        push, sub = self.ctx.socket(zmq.PUSH), self.ctx.socket(zmq.SUB)
        push.setsockopt(zmq.IMMEDIATE, 1)  # nothing queues for a daemon that is not connected
        push.setsockopt(zmq.SNDHWM, self.cfg.hwm)
        ms = int(self.cfg.heartbeat_s * 1000)
        push.setsockopt(zmq.HEARTBEAT_IVL, max(1, ms // 4))
        push.setsockopt(zmq.HEARTBEAT_TIMEOUT, ms)
        push.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
        sub.setsockopt(zmq.RCVHWM, self.cfg.hwm)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        monitor = push.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED)
        try:
            attach(push, d_in, "connect", f"daemon {i} input")
            attach(sub, d_out, "connect", f"daemon {i} output")
        except ServeError:
            for s in (push, sub, monitor):
                s.close(linger=0)
            raise
        return Daemon(i, d_in, d_out, push, sub, monitor)

    # --- the loop --------------------------------------------------------------------------------------------

    def run(self) -> int:
        inp, out, daemons = self._open()
        self.daemons = daemons
        log.info("routing %s (%s) to %d daemons, answers on %s", self.input_endpoint, self.cfg.input_type,
                 len(daemons), self.output_endpoint)
        next_stats = time.monotonic() + self.cfg.stats_interval_s
        try:
            while not self.should_exit:
                poller = self._poller(inp, out, daemons)
                events = dict(poller.poll(100))
                for d in daemons:
                    if d.monitor in events:
                        self._connection(d, out)
                    if d.sub in events:
                        self._answers(d, out, daemons)
                if out in events:
                    self._subscriptions(out, daemons)
                if self.held is not None and self.held[0].push in events:
                    self._retry_held(out)
                while self.reroute and self.held is None and any(d.up for d in daemons):
                    self._route(self.reroute.pop(0), out, daemons)
                if inp in events:
                    self._route_input(inp, out, daemons)
                if self.cfg.stats_interval_s and time.monotonic() >= next_stats:
                    next_stats = time.monotonic() + self.cfg.stats_interval_s
                    self._log_stats(daemons)
            self._drain(out, daemons)
        finally:
            for s in [inp, out] + [s for d in daemons for s in (d.push, d.sub, d.monitor)]:
                s.close(linger=0 if s is not out else 1000)
        self._log_stats(daemons)
        return 0

    def _drain(self, out: zmq.Socket, daemons: list[Daemon], within_s: float = 5.0) -> None:
        """On stop: input is no longer read; the answers to windows in flight are forwarded as they come,
        for `within_s` at most (a window still unanswered then gets no reply from the router)."""
        deadline = time.monotonic() + within_s
        while self.flight and time.monotonic() < deadline:
            poller = zmq.Poller()
            for d in daemons:
                poller.register(d.sub, zmq.POLLIN)
            for sock in dict(poller.poll(50)):
                self._answers(next(d for d in daemons if d.sub is sock), out, daemons)
        if self.flight:
            log.warning("stopping with %d windows of %d streams unanswered", sum(len(v[1]) for v in
                        self.flight.values()), len(self.flight))

    def _poller(self, inp: zmq.Socket, out: zmq.Socket, daemons: list[Daemon]) -> zmq.Poller:
        poller = zmq.Poller()
        poller.register(out, zmq.POLLIN)
        for d in daemons:
            poller.register(d.monitor, zmq.POLLIN)
            poller.register(d.sub, zmq.POLLIN)
        if self.held is not None:
            poller.register(self.held[0].push, zmq.POLLOUT)
        elif not self.reroute and (self.cfg.input_type == "sub" or any(d.up for d in daemons)):
            poller.register(inp, zmq.POLLIN)  # PULL input waits (lossless) while no daemon can take it
        return poller

    # --- daemons coming and going ----------------------------------------------------------------------------

    def _connection(self, d: Daemon, out: zmq.Socket) -> None:
        while d.monitor.poll(0):
            event = recv_monitor_message(d.monitor)["event"]
            if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                # Up once a hello says our subscription reaches it: ask for one (a daemon greets every
                # subscription; XSUB passes a repeated one upstream).
                d.connected, d.hello = True, None
                d.sub.setsockopt(zmq.SUBSCRIBE, protocol.READY_TOPIC)
                d.sub.setsockopt(zmq.UNSUBSCRIBE, protocol.READY_TOPIC)
                log.info("daemon %d (%s) connected; waiting for its hello on %s", d.index, d.input, d.output)
            elif event == zmq.EVENT_DISCONNECTED and d.connected:
                d.connected, d.hello = False, None
                self._gone(d, out)

    def _gone(self, d: Daemon, out: zmq.Socket) -> None:
        """Answer `lost` for each window in flight on `d`; its streams start afresh on another daemon."""
        lost = 0
        for stream, (owner, seqs) in list(self.flight.items()):
            if owner != d.index:
                continue
            for seq in seqs:
                out.send_multipart(protocol.encode_error(
                    "lost", f"daemon {d.index} ({d.input}) went away before answering window seq {seq}; the "
                    "stream moves to another daemon", stream, seq))
            lost += len(seqs)
            del self.flight[stream]
        self.counts.lost += lost
        if self.held is not None and self.held[0] is d:  # PULL input: the message waiting for it goes elsewhere
            self.reroute.append(self.held[1])
            self.held = None
        log.warning("daemon %d (%s) went away: %d windows in flight answered 'lost'; its streams move to the "
                    "others", d.index, d.input, lost)

    def _subscriptions(self, out: zmq.Socket, daemons: list[Daemon]) -> None:
        while True:
            try:
                msg = out.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            if msg[:1] == b"\x01":
                self.waiting_prefixes.append(msg[1:])
        self._greet(out, daemons)

    def _greet(self, out: zmq.Socket, daemons: list[Daemon]) -> None:
        """A subscriber's hello: the first live daemon's, marked as the router's. None while no daemon is up."""
        live = [d for d in daemons if d.up]
        if not live or not self.waiting_prefixes:
            return
        for prefix in self.waiting_prefixes:
            hello = dict(live[0].hello or {}, prefix=prefix.decode("utf-8", "replace"),
                         router={"daemons_up": len(live), "daemons": len(daemons)})
            out.send_multipart(protocol.encode_ready(hello))
        self.waiting_prefixes.clear()

    # --- windows in, answers out -----------------------------------------------------------------------------

    def _route_input(self, inp: zmq.Socket, out: zmq.Socket, daemons: list[Daemon]) -> None:
        for _ in range(1000):  # a bounded drain per wake-up: answers are not kept waiting
            if self.held is not None:
                return
            try:
                frames = inp.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self._route(frames, out, daemons)

    def _route(self, frames: list[bytes], out: zmq.Socket, daemons: list[Daemon]) -> None:
        """Send one input message to its stream's daemon: the one holding its windows in flight, else the
        live daemon that scores highest for it. A message whose stream id cannot be read goes to any live
        daemon, which answers it with the error."""
        topic, seq, _ = protocol.peek(frames, 1)
        entry = self.flight.get(topic) if topic is not None else None
        d = daemons[entry[0]] if entry is not None else max((x for x in daemons if x.up),
                                                             key=lambda x: x.score(topic or b""), default=None)
        if d is None:
            if self.cfg.input_type == "pull":
                self.reroute.append(frames)
            else:
                self._refuse(out, topic, seq, "lost", "no daemon behind the router is up")
            return
        try:
            d.push.send_multipart(frames, zmq.NOBLOCK)
        except zmq.Again:
            if self.cfg.input_type == "pull":
                self.held = (d, frames)
            else:
                self.counts.overloaded += 1
                self._refuse(out, topic, seq, "overloaded", f"daemon {d.index} ({d.input}) has a full queue")
            return
        self._sent(d, topic, seq)

    def _sent(self, d: Daemon, topic: bytes | None, seq: int | None) -> None:
        self.counts.routed += 1
        self.counts.per_daemon[d.index] += 1
        if topic is not None and seq is not None:
            self.flight.setdefault(topic, (d.index, collections.deque()))[1].append(seq)

    def _retry_held(self, out: zmq.Socket) -> None:
        assert self.held is not None
        d, frames = self.held
        try:
            d.push.send_multipart(frames, zmq.NOBLOCK)
        except zmq.Again:
            return
        self.held = None
        topic, seq, _ = protocol.peek(frames, 1)
        self._sent(d, topic, seq)

    def _refuse(self, out: zmq.Socket, topic: bytes | None, seq: int | None, code: str, why: str) -> None:
        out.send_multipart(protocol.encode_error(code, why, topic, seq))

    def _answers(self, d: Daemon, out: zmq.Socket, daemons: list[Daemon]) -> None:
        for _ in range(1000):
            try:
                frames = d.sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if frames[0] == protocol.READY_TOPIC:
                self._hello(d, frames, out, daemons)
            elif self._accept(d, frames):
                out.send_multipart(frames)

    def _hello(self, d: Daemon, frames: list[bytes], out: zmq.Socket, daemons: list[Daemon]) -> None:
        """A daemon's !ready: our subscription reached it, so its answers reach us from now on."""
        if d.hello is None:
            try:
                d.hello = protocol.decode_message(frames).body
            except protocol.ProtocolError:
                return
            log.info("daemon %d (%s) is up: model %s", d.index, d.input, d.hello.get("model"))
        self._greet(out, daemons)

    def _accept(self, d: Daemon, frames: list[bytes]) -> bool:
        """Whether to forward an answer: yes, unless its window was already answered `lost` (or was routed
        elsewhere); then it is counted late and dropped. Answers without a readable stream or seq pass."""
        topic = frames[0]
        err = topic.startswith(protocol.ERROR_PREFIX)
        stream = topic[len(protocol.ERROR_PREFIX) + 1:] if err else topic
        body = protocol.peek_map(frames[1]) if len(frames) == 2 else None
        seq = body.get("seq") if body is not None else None
        if not stream or not isinstance(seq, int):
            return True
        entry = self.flight.get(stream)
        if entry is None or entry[0] != d.index or seq not in entry[1]:
            self.counts.late += 1
            return False
        seqs = entry[1]
        if seqs[0] == seq:
            seqs.popleft()
        else:  # answered out of order by the daemon itself (an error sent before an earlier window's answer)
            seqs.remove(seq)
        if not seqs:
            del self.flight[stream]
        self.counts.answered += 1
        return True

    def _log_stats(self, daemons: list[Daemon]) -> None:
        c = self.counts
        up = ", ".join(f"{d.index}:{'up' if d.up else 'down'} {c.per_daemon[d.index]}" for d in daemons)
        log.info("routed %d, answered %d, lost %d, late %d, overloaded %d, in flight %d on %d streams; daemons "
                 "(windows routed): %s", c.routed, c.answered, c.lost, c.late, c.overloaded,
                 sum(len(v[1]) for v in self.flight.values()), len(self.flight), up)
