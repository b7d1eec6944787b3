"""The control client: one request to a running daemon's control endpoint (REP), one reply.

The format is in docs/protocol.md ("Control"): a msgpack map {"cmd": "reload", "model": path?} or
{"cmd": "stats"}; the reply is a map with "ok" and, for stats, the daemon's counters.
"""

from __future__ import annotations

from typing import Any

import zmq

from hush import protocol
from hush.clients.handshake import Handshake
from hush.errors import NotConnected


def request(endpoint: str, cmd: str, timeout_s: float = 120.0, **args: Any) -> dict[str, Any]:
    """Send `cmd` (with `args`) to the control endpoint and return the reply; TimeoutError if none comes."""
    ctx: zmq.Context = zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    handshake = Handshake(sock)
    try:
        sock.connect(endpoint)
        sock.send(protocol.encode_control(cmd, **args))
        if not sock.poll(int(timeout_s * 1000)):
            why = handshake.explain(endpoint, "an answer", "a daemon's control endpoint is a REP socket: is this it?")
            raise NotConnected(f"no answer from the daemon's control endpoint {endpoint} within {timeout_s:g} s: "
                               f"{why}")
        return protocol.decode_control(sock.recv())
    finally:
        handshake.done()
        sock.close()
