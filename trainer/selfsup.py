"""Self-supervised training from noisy windows alone (`hush train --noisy`): blind-spot masking, after
Noise2Self (Batson & Royer 2019) and Noise2Void (Krull et al. 2019).

A few samples of each input window are hidden: each is replaced by the value of a random neighbour within
`RADIUS` samples. The loss is taken at the hidden samples only, against their noisy values. The network can
not see a hidden sample's own noise, so the best it can do is predict the sample from its context: that is
the clean signal plus the part of the noise that the context predicts. For noise that is independent from
sample to sample (white, spikes, quantisation) that part is zero and the network learns the clean signal.
Noise that is correlated over time (pink, brown, hum, wander) is predictable from the neighbours, so the
network learns to keep it: `--noisy` cannot remove it. For those, record the sensor's noise alone and use
`--noise-file`, or train on pairs.
"""

from __future__ import annotations

import numpy as np

FRACTION = 0.03  # samples hidden per window: ~4.5 of 150
RADIUS = 3  # a hidden sample takes a neighbour's value from up to this far away


def blind_spot(z: np.ndarray, rng: np.random.Generator, copies: int = 1,
               fraction: float = FRACTION) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masked inputs, targets (the unmasked windows) and per-sample loss weights (1 at hidden samples),
    `copies` differently masked copies of each window (n, W)."""
    z = np.repeat(np.asarray(z, np.float32), copies, axis=0)
    n, w = z.shape
    hidden = rng.random((n, w)) < fraction
    hidden[np.arange(n), rng.integers(0, w, n)] = True  # every window teaches something
    offset = rng.integers(1, RADIUS + 1, (n, w)) * np.where(rng.random((n, w)) < 0.5, -1, 1)
    src = np.arange(w) + offset
    src = np.where((src < 0) | (src >= w), np.arange(w) - offset, src)  # reflect at the edges
    masked = np.where(hidden, np.take_along_axis(z, src, axis=1), z)
    return masked, z, hidden.astype(np.float32)
