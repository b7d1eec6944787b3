"""`hush route` (issue 14): several daemons behind one input, each stream's answers in seq order, and a
daemon that goes away answered for. Real daemons, a real router and real sockets on loopback."""

from __future__ import annotations

import collections
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zmq

from hush import protocol
from hush.clients.subscriber import Subscriber
from hush.config import RouteConfig
from hush.daemon.pipeline import ServeError
from hush.daemon.router import Router, parse_daemons
from hush.tools.spawn import DaemonProcess, loopback
from tests.conftest import running

W = 150


@contextmanager
def routing(daemons: list[tuple[str, str]], **cfg: Any) -> Iterator[Router]:
    """A router in a thread in front of `daemons`, yielded once every one of them is up."""
    router = Router(RouteConfig(input="tcp://127.0.0.1:*", output="tcp://127.0.0.1:*", input_type="pull",
                                daemons=[f"{a}={b}" for a, b in daemons], stats_interval_s=0.0, **cfg))
    result: dict[str, int] = {}
    th = threading.Thread(target=lambda: result.setdefault("code", router.run()), daemon=True)
    th.start()
    deadline = time.monotonic() + 10
    while router.up() < len(daemons) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert router.up() == len(daemons), "the daemons did not all come up behind the router"
    try:
        yield router
    finally:
        router.should_exit = True
        th.join(10)
    assert not th.is_alive() and result.get("code") == 0


def windows(streams: int, per_stream: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(per_stream * W) / 50.0
    return {f"s{i}": np.sin(t * (1 + i % 5)) + 0.2 * rng.standard_normal(t.size) for i in range(streams)}


def collect(sub: Subscriber, expect: int, idle_s: float = 10.0) -> list[protocol.Message]:
    got: list[protocol.Message] = []
    while len(got) < expect:
        msg = sub.recv(timeout_s=idle_s)
        if msg is None:
            break
        got.append(msg)
    return got


@pytest.mark.parametrize("count", [2, 3])
def test_each_stream_comes_out_in_order_and_as_one_daemon_would_answer(tiny_runner: Any, count: int) -> None:
    signals = windows(streams=24, per_stream=30)
    with ExitStack() as stack:
        daemons = [stack.enter_context(running(tiny_runner, input_type="pull", max_wait_ms=1.0))
                   for _ in range(count)]
        router = stack.enter_context(routing([(d.input_endpoint, d.output_endpoint) for d in daemons]))
        sub = stack.enter_context(Subscriber(router.output_endpoint))
        hello = sub.wait_ready(20)
        assert hello["window"] == W and hello["router"]["daemons"] == count
        ctx: zmq.Context = zmq.Context.instance()
        push = ctx.socket(zmq.PUSH)
        push.connect(router.input_endpoint)
        for seq in range(30):  # the streams interleaved, as many sensors send
            for name, x in signals.items():
                push.send_multipart(protocol.encode_window(name, seq, x[seq * W:(seq + 1) * W]))
        got = collect(sub, 24 * 30)
        push.close(linger=0)
        per_daemon = dict(router.counts.per_daemon)
    assert not [m for m in got if m.is_error]
    by_stream: dict[str, list[protocol.Message]] = collections.defaultdict(list)
    for m in got:
        by_stream[m.stream].append(m)
    assert sorted(by_stream) == sorted(signals)
    for name, msgs in by_stream.items():
        assert [m.seq for m in msgs] == list(range(30)), f"{name} out of order or incomplete"
        one_daemon = tiny_runner.denoise(signals[name].reshape(30, W)).reshape(-1)
        np.testing.assert_allclose(np.concatenate([m.samples() for m in msgs]), one_daemon, rtol=1e-4, atol=1e-5)
    assert len(per_daemon) == count and sum(per_daemon.values()) == 24 * 30  # every daemon took streams


def test_a_daemon_that_goes_silent_or_dies_is_answered_for_and_its_streams_move(tiny_model: Path,
                                                                                tmp_path: Path) -> None:
    """SIGSTOP one daemon (its heartbeat stops): its windows in flight are answered `lost`, its streams go to
    the other, its late answers after SIGCONT are dropped; then SIGKILL it. Every window gets exactly one
    reply, in seq order per stream."""
    flags = ["--input-type", "pull", "--workers", "1", "--engine", "graph"]
    with ExitStack() as stack:
        procs = [stack.enter_context(DaemonProcess(tiny_model, loopback(), loopback(), flags=flags,
                                                   log=tmp_path / f"d{k}.log").start()) for k in range(2)]
        router = stack.enter_context(routing([(p.input, p.output) for p in procs], heartbeat_s=1.0))
        sub = stack.enter_context(Subscriber(router.output_endpoint))
        sub.wait_ready(20)
        push: zmq.Socket = zmq.Context.instance().socket(zmq.PUSH)
        stack.callback(push.close, 0)
        push.connect(router.input_endpoint)
        streams, sent = [f"s{i}" for i in range(16)], 0
        x = np.sin(np.arange(W) / 7.0)

        def send(rounds: int) -> None:
            nonlocal sent
            for _ in range(rounds):
                for name in streams:
                    push.send_multipart(protocol.encode_window(name, sent // len(streams), x))
                    sent += 1
                time.sleep(0.005)

        send(20)
        victim = procs[0]
        assert victim.proc is not None
        os.kill(victim.proc.pid, signal.SIGSTOP)
        send(40)  # the stopped daemon's share piles up in flight until its heartbeat times out (1 s)
        time.sleep(2.0)
        send(40)  # by now its streams went to the other daemon
        os.kill(victim.proc.pid, signal.SIGCONT)  # it wakes and answers windows already answered `lost`
        time.sleep(1.0)
        send(20)
        victim.kill()
        send(20)
        got = collect(sub, sent, idle_s=5.0)
        counts = router.counts
    lost = [m for m in got if m.is_error]
    assert {m.body["error"] for m in lost} <= {"lost"}
    assert len(got) == sent, f"{len(got)} replies to {sent} windows"
    assert counts.lost == len(lost) > 0 and counts.late > 0
    for name in streams:
        seqs = [m.seq for m in got if m.stream == name]
        assert seqs == list(range(sent // len(streams))), f"{name}: replies out of order, missing or doubled"


def test_bad_daemon_specs_are_refused_in_one_line() -> None:
    with pytest.raises(ServeError, match="no daemons to route to"):
        parse_daemons([])
    with pytest.raises(ServeError, match="must be INPUT=OUTPUT"):
        parse_daemons(["tcp://127.0.0.1:5600"])


def test_a_stopping_router_forwards_the_answers_in_flight(tiny_runner: Any) -> None:
    with ExitStack() as stack:
        d = stack.enter_context(running(tiny_runner, input_type="pull", max_wait_ms=1.0))
        router_cm = routing([(d.input_endpoint, d.output_endpoint)])
        router = router_cm.__enter__()
        sub = stack.enter_context(Subscriber(router.output_endpoint))
        sub.wait_ready(20)
        push: zmq.Socket = zmq.Context.instance().socket(zmq.PUSH)
        stack.callback(push.close, 0)
        push.connect(router.input_endpoint)
        x = np.sin(np.arange(W) / 5.0)
        for seq in range(300):
            push.send_multipart(protocol.encode_window("stop", seq, x))
        deadline = time.monotonic() + 20
        while router.counts.routed < 300 and time.monotonic() < deadline:
            time.sleep(0.005)
        router_cm.__exit__(None, None, None)  # stops while answers are still coming
        got = collect(sub, 300, idle_s=2.0)
    assert router.counts.routed == 300
    assert [m.seq for m in got] == list(range(300))
