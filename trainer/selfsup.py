"""Self-supervised training from noisy windows alone (`hush train --noisy`), two ways (`self_supervision`).

**recorrupt (the default)**, after Recorrupted-to-Recorrupted (Pang et al. 2021) and Noisier2Noise (Moran et
al. 2020). The noise level s of the recording is estimated from the data (evaluate.noise_sigma, the median
over windows). Each training pair is made from one noisy window y and fresh Gaussian z: input y + a s z,
target y - s z / a. For noise that is Gaussian, white and of level s, the expected target given the input
is the clean signal, so the network learns what a clean reference would have taught it, on inputs a little
noisier than the recording (1 + a^2 times its noise power; a = 0.5). It cannot learn noise that is not
white (pink, brown, hum, wander: the recorruption does not look like it) and is biased for heavy-tailed
noise (spikes). For those, record the sensor's noise alone and use `--noise-file`, or train on pairs.

**blind-spot**, after Noise2Self (Batson & Royer 2019) and Noise2Void (Krull et al. 2019):

A few samples of each input window are hidden: each is replaced by the value of a random neighbour within
`RADIUS` samples. The loss is taken at the hidden samples only, against their noisy values. The network can
not see a hidden sample's own noise, so the best it can do is predict the sample from its context: that is
the clean signal plus the part of the noise that the context predicts. For noise that is independent from
sample to sample (white, spikes, quantisation) that part is zero and the network learns the clean signal.
Noise that is correlated over time (pink, brown, hum, wander) is predictable from the neighbours, so the
network learns to keep it. It needs no noise level and takes any independent noise (spikes, quantisation),
but the network never sees the sample it answers for, and on the project's ECG it gains ~1.5 dB less than
recorrupt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

FRACTION = 0.05  # samples hidden per window: ~7.5 of 150
RADIUS = 3  # a hidden sample takes a neighbour's value from up to this far away
ALPHA = 0.5  # recorrupt: the added noise's share of the recording's noise level


def recorrupt(z: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One (input, target) pair per noisy window (n, W) in scaled units, whose white noise has std `sigma`
    (n, 1) in those units."""
    fresh = rng.standard_normal(z.shape) * sigma
    return (z + ALPHA * fresh).astype(np.float32), (z - fresh / ALPHA).astype(np.float32)


def shuffled_batches(n: int, batch_size: int, copies: int, seed: int,
                     make: Callable[[np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]]) -> Any:
    """A Keras dataset whose batch i is make(indices, rng): `copies` passes over n windows per epoch, in a
    new order each epoch, each batch made afresh (noise drawn once is learnt by heart within a few epochs)."""
    import keras

    class Batches(keras.utils.PyDataset):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.on_epoch_end()

        def __len__(self) -> int:
            return -(-len(self.order) // batch_size)

        def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
            x, y = make(self.order[i * batch_size:(i + 1) * batch_size], self.rng)
            return x[..., None], y[..., None]

        def on_epoch_end(self) -> None:
            self.order = self.rng.permutation(n * copies) % n

    return Batches()


def recorrupted_batches(z: np.ndarray, sigma: np.ndarray, batch_size: int, copies: int, seed: int) -> Any:
    """A Keras dataset of recorrupted pairs, drawn afresh for every batch; an epoch is `copies` passes over
    the windows."""
    return shuffled_batches(len(z), batch_size, copies, seed, lambda pick, rng: recorrupt(z[pick], sigma[pick], rng))


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
