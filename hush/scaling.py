"""Per-window scaling, shared by the trainer and the daemon so both do exactly the same thing.

The model sees each window in scaled coordinates and answers in the same coordinates; `inverse` maps the
answer back to the input's units. Both directions run in float64 outside the graph, so a sensor with a
large offset (say 1e5 +- 0.01) keeps its precision although the network computes in float32.

- "standardize" (the default): z = (x - mean) / std of the *noisy* window. The inverse is exact: the same
  mean and std, which the daemon has, undo it.
- "minmax" (the seed preset): z = (x - min) / (max - min) of the noisy window. The seed trained its target
  on the *clean* window's range, which is unknown when serving; mapping the output back with the noisy
  range stretches it by the noise's excursions (see docs/model-format.md for what that costs).
"""

from __future__ import annotations

import numpy as np

KINDS = ("standardize", "minmax")


def _floor(scale: np.ndarray, centre: np.ndarray) -> np.ndarray:
    # A flat window (a stuck sensor) has no spread; a floor relative to its level keeps the division
    # finite and maps it back to itself.
    return np.maximum(scale, 1e-9 * np.maximum(1.0, np.abs(centre)))


def forward(x: np.ndarray, kind: str) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Scale windows x (n, W) -> (z float32 (n, W), state); `inverse(y, state)` undoes it."""
    x = np.asarray(x, dtype=np.float64)
    if kind == "standardize":
        centre = x.mean(axis=1, keepdims=True)
        scale = _floor(x.std(axis=1, keepdims=True), centre)
    elif kind == "minmax":
        centre = x.min(axis=1, keepdims=True)
        scale = _floor(x.max(axis=1, keepdims=True) - centre, centre)
    else:
        raise ValueError(f"scaling must be one of {KINDS}, got {kind!r}")
    return ((x - centre) / scale).astype(np.float32), (centre, scale)


def inverse(y: np.ndarray, state: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Map model outputs y (n, W) back to the input's units (float64)."""
    centre, scale = state
    return np.asarray(y, dtype=np.float64) * scale + centre
