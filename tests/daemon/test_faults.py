"""Faults inside the daemon (issue 14): an exception injected at each stage (hush/faults.py, the test hook)
costs the windows it touches an `internal` error and nothing else; a stage that hangs past batch_timeout_s
is answered and its worker replaced; a thread that dies ends the daemon with code 1 within seconds, never a
hang. Real daemon, real sockets, the real tiny model."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from hush import faults
from hush.clients.publisher import Publisher
from hush.clients.subscriber import Subscriber
from hush.config import ServeConfig
from hush.daemon.server import Server
from tests.conftest import running

N = 12  # messages per run, sent one by one


@pytest.fixture(autouse=True)
def no_faults_left() -> Iterator[None]:
    yield
    faults.HOOKS.clear()


def once(exc: BaseException) -> Callable[[], None]:
    fired: list[int] = []

    def hook() -> None:
        if not fired:
            fired.append(1)
            raise exc
    return hook


def exchange(srv: Any, n: int = N) -> list[Any]:
    """Send n one-window messages, one at a time; every answer or error that comes back."""
    got = []
    with Subscriber(srv.output_endpoint, prefix="f") as sub, Publisher(srv.input_endpoint, "f") as pub:
        sub.wait_ready()
        pub.wait_connected()
        for _ in range(n):
            pub.send(np.sin(np.linspace(0, 3, 150)))
            msg = sub.recv(30.0)
            assert msg is not None, "a message got no answer"
            got.append(msg)
        assert sub.recv(0.5) is None, "a message got two answers"
    return got


STAGES = ["decode", "handoff_in", "assemble", "scale", "engine", "inverse", "handoff_out", "encode", "send"]


@pytest.mark.parametrize("stage", STAGES)
def test_an_exception_at_any_stage_costs_only_the_windows_it_touches(tiny_runner: Any, stage: str) -> None:
    with running(tiny_runner, max_batch=4) as srv:
        faults.HOOKS[stage] = once(RuntimeError(f"injected at {stage}"))
        got = exchange(srv)
        faults.HOOKS.clear()
        assert exchange(srv, 2)  # and it keeps serving
        counters = srv.counters()
    errors = [m for m in got if m.is_error]
    assert len(errors) == 1 and errors[0].body["error"] == "internal" and errors[0].seq is not None
    assert sorted(m.seq for m in got) == list(range(N))  # every message: exactly one answer
    assert counters["received"] == counters["messages_out"] + sum(counters["errors"].values())


def test_each_engine_fault_is_caught(tiny_runner: Any) -> None:
    fired = once(RuntimeError("injected in an engine"))
    for name in ("lite", "xla", "graph", "int8", "bf16"):
        faults.HOOKS[f"engine:{name}"] = fired
    with running(tiny_runner) as srv:
        got = exchange(srv)
    assert [m.body["error"] for m in got if m.is_error] == ["internal"]


def test_a_stage_that_hangs_is_answered_and_its_worker_replaced(tiny_runner: Any) -> None:
    hang = once(RuntimeError("never raised"))

    def slow() -> None:
        try:
            hang()
        except RuntimeError:
            time.sleep(4.0)  # far past batch_timeout_s, once
    faults.HOOKS["engine"] = slow
    with running(tiny_runner, batch_timeout_s=1.0) as srv:
        got = exchange(srv)
        assert srv.stats.abandoned == 1
    errors = [m for m in got if m.is_error]
    assert len(errors) == 1 and "took longer than batch_timeout_s" in errors[0].body["detail"]
    assert sorted(m.seq for m in got) == list(range(N))


@pytest.mark.parametrize("stage", ["assemble", "send"])  # a model worker, the sender
def test_a_thread_that_dies_ends_the_daemon_with_code_1_quickly(tiny_runner: Any, stage: str) -> None:
    srv = Server(ServeConfig(input="tcp://127.0.0.1:*", output="tcp://127.0.0.1:*", stats_interval_s=0.0),
                 runner=tiny_runner)
    result: dict[str, int] = {}
    th = threading.Thread(target=lambda: result.setdefault("code", srv.run(install_signals=False)), daemon=True)
    th.start()
    assert srv.ready.wait(60)
    faults.HOOKS[stage] = once(SystemExit(3))  # not an Exception: the thread ends
    with Publisher(srv.input_endpoint, "f") as pub:
        pub.wait_connected()
        pub.send(np.ones(150))
        t0 = time.monotonic()
        th.join(15)
    assert not th.is_alive() and result["code"] == 1 and time.monotonic() - t0 < 15
