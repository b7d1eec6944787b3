"""Why a client is not connected, in one sentence: ZeroMQ's socket monitor tells apart no daemon, a socket
of the wrong type (PUB to a PULL input, PUSH to a SUB one), CURVE on one side only, and a refused key."""

from __future__ import annotations

import itertools
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

_MONITORS = itertools.count()


class Handshake:
    """Watches a socket's connection events from before it connects (attach, then connect or bind) until
    `done`; `watch` starts again (a client waiting a second time, for a restarted daemon). `explain` reads
    what happened since."""

    def __init__(self, sock: zmq.Socket):
        self.sock = sock
        self.monitor: zmq.Socket | None = None
        self.events: list[tuple[int, Any]] = []
        self.watch()

    def watch(self) -> None:
        """Watch from now, unless already watching: what happened before `done` no longer explains anything."""
        if self.monitor is None:
            self.events = []
            # A fresh inproc address each time: the one pyzmq derives from the socket stays taken for a
            # while after disable_monitor, and watching again on it fails with "Address already in use".
            self.monitor = self.sock.get_monitor_socket(addr=f"inproc://hush.monitor.{next(_MONITORS)}")

    def seen(self) -> set[int]:
        """The kinds of event so far."""
        return self._read()

    def _read(self) -> set[int]:
        while self.monitor is not None and self.monitor.poll(0):
            ev = recv_monitor_message(self.monitor)
            self.events.append((int(ev["event"]), ev["value"]))
        return {e for e, _ in self.events}

    def explain(self, endpoint: str, waited_for: str, mismatch_hint: str) -> str:
        """Why `waited_for` (e.g. "the daemon's subscription") did not come from `endpoint`."""
        seen = self._read()
        failed = [v for e, v in self.events if e == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL]
        if zmq.EVENT_HANDSHAKE_FAILED_AUTH in seen:
            return (f"the daemon at {endpoint} refused this client's CURVE key: its public key is not in the "
                    "daemon's curve_clients_dir")
        if failed and int(failed[0]) == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
            return (f"the security at {endpoint} does not match: the daemon uses CURVE and this client does not "
                    "(--curve-key, --curve-server-key), or the other way round")
        if not seen & {zmq.EVENT_CONNECTED, zmq.EVENT_ACCEPTED}:
            return (f"nothing answered at {endpoint}: no daemon runs there, or it listens on another endpoint"
                    if zmq.EVENT_LISTENING not in seen else f"nothing connected to {endpoint}")
        if zmq.EVENT_HANDSHAKE_SUCCEEDED not in seen:  # a peer of a type that does not pair with this socket
            return (f"{endpoint} took the connection and dropped it at the handshake: {mismatch_hint}; or CURVE "
                    "is on at one end only")
        return f"connected to {endpoint}, but {waited_for} never came"

    def done(self) -> None:
        """Stop watching (a long-running client would otherwise collect events for nothing)."""
        if self.monitor is not None:
            self.sock.disable_monitor()
            self.monitor.close(linger=0)
            self.monitor = None
