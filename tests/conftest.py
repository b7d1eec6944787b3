"""Shared fixtures: a real (tiny) trained model, and a real daemon on loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hush.config import TrainConfig

# The default recipe (mix noise, median channels, snr loss) in a tiny network and three epochs; the SNR range
# stops at 20 dB, since so small a network has not yet learnt in three epochs to leave clean windows alone.
TINY = dict(n_windows=4000, epochs=3, architecture="dilated", filters=8, kernel_size=5, dilations=[1, 2],
            batch_size=64, report_examples=2, patience=0, snr_db_min=0.0, snr_db_max=20.0)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model trained for real on synthetic data (a few seconds)."""
    from hush.trainer.train import train

    out = tmp_path_factory.mktemp("model") / "tiny.keras"
    train(TrainConfig(out=str(out), **TINY), say=lambda s: None)  # type: ignore[arg-type]
    return out


@pytest.fixture(scope="session")
def tiny_runner(tiny_model: Path):  # type: ignore[no-untyped-def]
    from hush.runtime.runner import Runner

    return Runner.load(tiny_model, max_batch=16, engine="auto", workers=2)  # the daemon's default engine


@pytest.fixture
def server(tiny_runner) -> Iterator:  # type: ignore[no-untyped-def]
    """A daemon serving the tiny model in this process, on free loopback ports; stopped cleanly after. It drops
    nothing: its queue holds 1,024 windows, and no window is too old to run (a slow or busy machine can keep a
    window waiting past max_queue_ms, and a test of what is answered must not depend on the machine's speed)."""
    with running(tiny_runner, max_wait_ms=2.0, max_windows_per_message=8, queue_batches=64, max_queue_ms=0.0) as srv:
        yield srv


def running(runner: Any, **cfg: Any) -> Any:
    """A daemon in this process on free loopback ports, serving `runner`, stopped cleanly after (a context
    manager; settings as in ServeConfig, max_batch 16 unless given)."""
    from hush.tools.spawn import in_thread

    return in_thread(runner, **{"max_batch": 16, "queue_batches": 16, **cfg})


@contextmanager
def serving(runner: Any, stream: str, **cfg: Any) -> Iterator[Any]:
    """`running(runner, **cfg)` with a Subscriber and a Publisher of `stream` on its loopback sockets, both
    ready (the subscription heard, the publisher connected): yields (server, subscriber, publisher)."""
    from hush.clients.publisher import Publisher
    from hush.clients.subscriber import Subscriber

    with running(runner, **cfg) as srv, Subscriber(srv.output_endpoint) as sub, \
            Publisher(srv.input_endpoint, stream) as pub:
        sub.wait_ready()
        pub.wait_connected()
        yield srv, sub, pub
