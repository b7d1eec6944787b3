"""Ctrl-C while the network trains is deferred to the next batch's end (trainer/ctrl_c.py)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import numpy as np
import pytest

from hush.runtime.tfenv import tensorflow
from hush.trainer.ctrl_c import CtrlC
from hush.trainer.selfsup import shuffled_batches


@pytest.fixture
def python_sigint() -> Iterator[None]:
    """Python's own Ctrl-C handler, as at a terminal (tests in the background inherit SIGINT ignored)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)  # Python runs its handler at the next instruction


def test_a_ctrl_c_in_the_batch_generator_stops_training_at_that_batch_end(python_sigint: None) -> None:
    tensorflow()
    import keras

    made = []

    def make(pick: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        made.append(len(pick))
        if len(made) == 3:
            ctrl_c()  # without the deferral, KeyboardInterrupt would be raised here, in the batch generator
        z = rng.standard_normal((len(pick), 150)).astype(np.float32)
        return z, z

    model = keras.Sequential([keras.Input((150, 1)), keras.layers.Conv1D(1, 3, padding="same")])
    model.compile("adam", "mse")
    stop = CtrlC(keras)
    with pytest.raises(KeyboardInterrupt), stop.noted():
        model.fit(shuffled_batches(64 * 20, 64, 1, 0, make), epochs=5, verbose=0, callbacks=[stop.callback])
    assert stop.seen and 3 <= len(made) < 20  # stopped within the first epoch, not at its end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Python's own handler is back


def test_a_second_ctrl_c_interrupts_at_once(python_sigint: None) -> None:
    tensorflow()
    import keras

    stop = CtrlC(keras)
    with stop.noted():
        ctrl_c()
        assert stop.seen
        with pytest.raises(KeyboardInterrupt):
            ctrl_c()


def test_a_caller_s_own_handler_is_left_alone() -> None:
    tensorflow()
    import keras

    heard = []
    before = signal.signal(signal.SIGINT, lambda signum, frame: heard.append(signum))
    try:
        stop = CtrlC(keras)
        with stop.noted():
            ctrl_c()
        assert heard == [signal.SIGINT] and not stop.seen
    finally:
        signal.signal(signal.SIGINT, before)
