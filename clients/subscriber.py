"""`Subscriber`: receive denoised windows (and errors) from a Hush daemon, as `hush subscribe` does.

    with Subscriber("tcp://127.0.0.1:5556", prefix="pump-") as sub:
        sub.wait_ready()              # our subscription has reached the daemon
        for msg in sub:               # protocol.Message: msg.topic, msg.seq, msg.samples(), msg.is_error
            ...
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator

import zmq

from hush import protocol
from hush.clients.handshake import Handshake
from hush.errors import NotConnected

MAX_ANSWER_BYTES = 16 * 1024 * 1024  # the largest answer: 4096 windows x 150 float64, with room to spare


class Subscriber:
    def __init__(self, endpoint: str, prefix: str = "", errors: bool = True, bind: bool = False,
                 ctx: zmq.Context | None = None, hwm: int = 100_000, curve: tuple[str, str] | None = None):
        self.endpoint, self.prefix = endpoint, prefix
        self._own_ctx = ctx is None
        self.ctx = ctx or zmq.Context()
        self.sock = self.ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.RCVHWM, hwm)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.MAXMSGSIZE, MAX_ANSWER_BYTES)  # a peer cannot make us buffer more
        self.sock.setsockopt(zmq.SUBSCRIBE, prefix.encode())
        if errors and prefix:
            self.sock.setsockopt(zmq.SUBSCRIBE, protocol.ERROR_PREFIX + b"/" + prefix.encode())
        # Subscribed last, so the daemon's answer on !ready means every subscription above is in place.
        self.sock.setsockopt(zmq.SUBSCRIBE, protocol.READY_TOPIC)
        if curve:  # (client .key_secret file, server .key file)
            from hush.clients.security import secure_client

            secure_client(self.sock, *curve)
        self.handshake: Handshake | None = Handshake(self.sock)
        (self.sock.bind if bind else self.sock.connect)(endpoint)
        self.hello: dict[str, object] | None = None  # what the daemon said on !ready: model id, window

    def wait_ready(self, timeout_s: float = 10.0) -> dict[str, object]:
        """Block until the daemon confirms our subscriptions; return its hello (model, window, protocol)."""
        deadline = time.monotonic() + timeout_s
        if self.handshake is None:  # waiting again (a restarted daemon): explain what happens from now
            self.handshake = Handshake(self.sock)
        while (left := deadline - time.monotonic()) > 0:
            if self.sock.poll(int(left * 1000) + 1):
                msg = protocol.decode_message(self.sock.recv_multipart())
                if msg.topic == protocol.READY_TOPIC.decode():
                    self.hello = msg.body
                    self._stop_watching()
                    return msg.body
        why = self.handshake.explain(self.endpoint, "the daemon's hello", "a daemon's output is an XPUB socket: "
                                     "is this its output endpoint?") if self.handshake else ""
        raise NotConnected(f"no Hush daemon answered at {self.endpoint} within {timeout_s:g} s" + (
            f": {why}" if why else ""))

    def _stop_watching(self) -> None:
        if self.handshake is not None:
            self.handshake.done()
            self.handshake = None

    def recv(self, timeout_s: float | None = None) -> protocol.Message | None:
        """The next window or error (None after timeout_s); the daemon's !ready hellos are skipped."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self.sock.poll(None if left is None else int(left * 1000) + 1):
                return None
            msg = protocol.decode_message(self.sock.recv_multipart())
            if msg.topic == protocol.READY_TOPIC.decode():
                self.hello = msg.body
                continue
            return msg

    def __iter__(self) -> Iterator[protocol.Message]:
        while (msg := self.recv()) is not None:
            yield msg

    def close(self) -> None:
        self._stop_watching()
        self.sock.close()
        if self._own_ctx:
            self.ctx.term()

    def __enter__(self) -> Subscriber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def receive(sub: Subscriber, write: Callable[[protocol.Message], None], count: int = 0, idle_timeout_s: float = 0.0,
            on_error: Callable[[protocol.Message], None] | None = None) -> tuple[int, int]:
    """Pass each denoised window to `write` and each error to `on_error`, until `count` windows (0: no limit)
    or `idle_timeout_s` of silence (0: none) or Ctrl-C; (windows, errors) received."""
    windows = errors = 0
    try:
        while not (count and windows >= count):
            msg = sub.recv(idle_timeout_s or None)
            if msg is None:
                break
            if msg.is_error:
                errors += 1
                if on_error:
                    on_error(msg)
                continue
            write(msg)
            windows += 1
    except KeyboardInterrupt:
        pass
    return windows, errors


class ErrorWatch:
    """The daemon's side of a publish, read on its output socket: its hello (window length and limits) and
    its error replies to one stream, counted by code. Nothing else is received (no denoised windows)."""

    def __init__(self, endpoint: str, stream: str, curve: tuple[str, str] | None = None):
        self.endpoint = endpoint
        self.sub = Subscriber(endpoint, prefix=f"!error/{stream}", errors=False, curve=curve)
        self.errors: Counter[str] = Counter()
        self.details: dict[str, str] = {}  # the first detail of each code

    def hello(self, timeout_s: float) -> dict[str, object] | None:
        """The daemon's hello, or None if none came within timeout_s (no daemon output there)."""
        try:
            return self.sub.wait_ready(timeout_s)
        except NotConnected:
            return None

    def drain(self, quiet_s: float = 1.0) -> Counter[str]:
        """Count the error replies that have come or come until quiet_s pass without one."""
        while (msg := self.sub.recv(quiet_s)) is not None:
            code = str(msg.body.get("error"))
            self.errors[code] += 1
            self.details.setdefault(code, str(msg.body.get("detail")))
        return self.errors

    def __enter__(self) -> ErrorWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sub.close()
