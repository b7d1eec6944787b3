"""Fault injection, for tests only: `HOOKS[stage]` is called where the daemon passes `stage` (raise to fail
it, sleep to hang it). Empty in production, where `hit` is one dictionary lookup. Stages: decode,
handoff_in, assemble, scale, engine (and engine:lite, engine:xla, engine:graph), inverse, handoff_out,
encode, send."""

from __future__ import annotations

from collections.abc import Callable

HOOKS: dict[str, Callable[[], None]] = {}


def hit(stage: str) -> None:
    hook = HOOKS.get(stage)
    if hook is not None:
        hook()
