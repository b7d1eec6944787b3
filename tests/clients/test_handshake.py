""""No daemon subscribed" is told apart by cause (issue 15, item 7): nothing listening, the wrong socket
type, CURVE on one side only, an unlisted key; and the daemon logs the refused key. Real sockets."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from hush.clients.publisher import Publisher
from hush.clients.security import make_keys
from hush.clients.subscriber import Subscriber
from hush.errors import NotConnected
from hush.tools.spawn import loopback
from tests.conftest import running


def why(pub: Publisher) -> str:
    with pytest.raises(NotConnected) as info:
        pub.wait_connected(1.5)
    return str(info.value)


def test_nothing_listening(tmp_path: Path) -> None:
    endpoint = loopback()
    with Publisher(endpoint, "s") as pub:
        assert "nothing answered at" in why(pub)
    with Subscriber(endpoint) as sub, pytest.raises(NotConnected, match="nothing answered at"):
        sub.wait_ready(1.5)


def test_the_wrong_socket_type(tiny_runner: Any) -> None:
    with running(tiny_runner, input_type="pull") as srv, Publisher(srv.input_endpoint, "s") as pub:
        assert "dropped it at the handshake: a daemon with PULL input takes PUSH (--push)" in why(pub)
    with running(tiny_runner) as srv, Publisher(srv.input_endpoint, "s", push=True) as pub:
        assert "dropped it at the handshake" in why(pub)


def test_curve_on_one_side_and_an_unlisted_key(tiny_runner: Any, tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    _, server_secret = make_keys(tmp_path, "server")
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    stranger_public, stranger_secret = make_keys(tmp_path, "stranger")
    curve = (str(stranger_secret), str(tmp_path / "server.key"))
    with running(tiny_runner, curve_secret_key=str(server_secret), curve_clients_dir=str(allowed)) as srv:
        with Publisher(srv.input_endpoint, "s") as pub:
            said = why(pub)  # ZeroMQ usually reports the mechanism mismatch; under load it may only drop the link
            assert "the daemon uses CURVE and this client does not" in said or "CURVE is on at one end only" in said
        with caplog.at_level(logging.WARNING, logger="hush.serve"), \
                Publisher(srv.input_endpoint, "s", curve=curve) as pub:
            assert "refused this client's CURVE key" in why(pub)
    key = stranger_public.read_text().split('public-key = "')[1].split('"')[0]
    assert f"refused a CURVE client: its public key {key} is not in {allowed}" in caplog.text


def test_waiting_again_explains_what_happened_since(tiny_runner: Any) -> None:
    """A client that waits a second time (its daemon restarted) is told what its socket met since, not
    what it met the first time."""
    import zmq

    with running(tiny_runner) as srv:
        pub = Publisher(srv.input_endpoint, "s")
        pub.wait_connected()
    squatter: zmq.Socket = zmq.Context.instance().socket(zmq.PULL)  # not a SUB input: the handshake fails
    with pub, squatter:
        squatter.bind(pub.endpoint)
        assert "dropped it at the handshake" in why(pub)
