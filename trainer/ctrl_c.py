"""Ctrl-C while Keras trains. Python raises KeyboardInterrupt wherever the main thread happens to be; inside
model.fit that may be TensorFlow's own frames (tracing the step function, fetching a batch). On slow
machines `hush train` then ended with code 1 and a traceback from the tracing, and once went on to its last
epoch and ended 0. So while the network trains, a Ctrl-C is only noted, and the next batch's end raises
KeyboardInterrupt where Keras passes it up to `hush train`. A second Ctrl-C interrupts at once."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


class CtrlC:
    """`with stop.noted(): model.fit(..., callbacks=[..., stop.callback])`, then `stop.check()`."""

    def __init__(self, keras: Any) -> None:
        self.seen = False
        outer = self

        class _CB(keras.callbacks.Callback):  # type: ignore[misc]
            def on_train_batch_end(cb, batch: int, logs: Any = None) -> None:
                outer.check()

            def on_test_batch_end(cb, batch: int, logs: Any = None) -> None:
                outer.check()

        self.callback = _CB()

    def check(self) -> None:
        if self.seen:
            raise KeyboardInterrupt

    def _note(self, signum: int, frame: Any) -> None:
        self.seen = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the second one is not deferred

    @contextlib.contextmanager
    def noted(self) -> Iterator[None]:
        """Defer Ctrl-C within the block; left as it is where Python's own handler is not the one in place
        (a thread other than the main one; SIGINT ignored or handled by the caller)."""
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
            yield
            return
        signal.signal(signal.SIGINT, self._note)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
