"""Seamless streams: one continuous denoised signal from overlapping windows, by weighted overlap-add.

A window is denoised alone, so its first and last samples see only one side of their neighbourhood and
are the least accurate. With overlapping windows (hop < W, for example W/2), every sample is covered by
several windows; weighting each by a Hann taper (strictly positive, small at the edges) and dividing by the
sum of weights gives every sample mostly from windows where it sits near the middle. docs/quality.md
measures the error near window edges with and without it.

    st = Stitcher(window=150, hop=75)
    for seq, samples in answers:               # in seq order; a gap just leaves fewer windows to average
        out = st.add(seq * 75, samples)        # samples that no later window can change any more
    out = st.flush()
"""

from __future__ import annotations

import numpy as np

from hush.errors import InputError


class Stitcher:
    def __init__(self, window: int, hop: int):
        if not 1 <= hop <= window:
            raise InputError(f"hop must be between 1 and the window ({window}), got {hop}")
        self.window, self.hop = window, hop
        self.taper = np.hanning(window + 2)[1:-1]  # Hann without its zero end points
        self._acc = np.zeros(0)
        self._wsum = np.zeros(0)
        self._start = 0  # absolute index of _acc[0]
        self._began = False

    @property
    def next_index(self) -> int:
        """Absolute index of the next sample `add` or `flush` will give out."""
        return self._start

    def add(self, index: int, samples: np.ndarray) -> np.ndarray:
        """Add the window that starts at absolute sample `index` (indices must not decrease); return the
        samples that are now final: those before index + hop, which no later window reaches."""
        samples = np.asarray(samples, dtype=np.float64)
        if samples.shape != (self.window,):
            raise InputError(f"expected {self.window} samples, got shape {samples.shape}")
        if not self._began:
            self._start, self._began = index, True
        if index < self._start:
            raise InputError(f"window at {index} starts before the samples already given out ({self._start})")
        end = index + self.window - self._start
        if end > self._acc.size:
            self._acc = np.concatenate([self._acc, np.zeros(end - self._acc.size)])
            self._wsum = np.concatenate([self._wsum, np.zeros(end - self._wsum.size)])
        at = index - self._start
        self._acc[at:end] += self.taper * samples
        self._wsum[at:end] += self.taper
        return self._emit(index + self.hop - self._start)

    def flush(self) -> np.ndarray:
        """Everything still held (the tail of the last window)."""
        return self._emit(self._acc.size)

    def _emit(self, upto: int) -> np.ndarray:
        upto = max(0, min(upto, self._acc.size))
        covered = self._wsum[:upto] > 0
        out = np.where(covered, self._acc[:upto] / np.where(covered, self._wsum[:upto], 1.0), np.nan)
        self._acc, self._wsum = self._acc[upto:], self._wsum[upto:]
        self._start += upto
        return out  # NaN only where no window covered a sample (a lost window with hop = W)
