"""How a model treats true edges in a sensor's recording: continuous signals with jumps (a staircase of random
levels, a two-level telegraph signal, ramps that jump back), their level spread over two decades and changing
every 8 windows, white noise at one level for the whole recording, cut into consecutive windows, and the SNR
over the whole recording before and after. Each signal is made with plateaus of at least 1, 2 and 5 samples:
a plateau of one sample between two jumps is a one-sample event of the signal, which within a window looks
like an impulse of noise.

None of these generators is in trainer/ (data.py or heldout.py); they are drawn here, seeded, for this probe.

    python tools/experiments/edge_probe.py models/default.keras [MORE.keras ...]
"""

from __future__ import annotations

import argparse

import numpy as np

from hush import modelfile
from hush.runtime.runner import Runner

WINDOWS = 800
REPEAT = 8  # windows a level lasts before it changes


def _plateaus(rng: np.random.Generator, n: int, shortest: int, mean: float) -> list[int]:
    out: list[int] = []
    while sum(out) < n:
        out.append(shortest + int(rng.exponential(mean)))
    return out


def staircase(rng: np.random.Generator, n: int, shortest: int) -> np.ndarray:
    lengths = _plateaus(rng, n, shortest, 60)
    return np.repeat(np.cumsum(rng.normal(0, 1, len(lengths))), lengths)[:n]


def telegraph(rng: np.random.Generator, n: int, shortest: int) -> np.ndarray:
    lengths = _plateaus(rng, n, shortest, 40)
    return np.repeat((-1.0) ** np.arange(len(lengths)), lengths)[:n]


def ramps(rng: np.random.Generator, n: int, shortest: int) -> np.ndarray:
    lengths = _plateaus(rng, n, max(shortest, 20), 80)
    return np.concatenate([np.linspace(0, rng.uniform(0.5, 2), k) for k in lengths])[:n]


SIGNALS = {"staircase": staircase, "telegraph": telegraph, "ramps": ramps}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--snr", type=float, nargs="+", default=[10.0, 20.0, 30.0, 40.0])
    args = ap.parse_args()
    for path in args.models:
        runner = Runner.load(path, max_batch=256, engine="graph")
        w = runner.window
        print(f"{modelfile.read_meta(path)['id']}: gain over the whole recording (dB) at "
              f"{' / '.join(f'{s:g}' for s in args.snr)} dB input")
        for name, make in SIGNALS.items():
            for shortest in (1, 2, 5):
                rng = np.random.default_rng(7)
                s = make(rng, w * WINDOWS, shortest)
                s = s * np.repeat(10 ** rng.uniform(-1, 1, WINDOWS // REPEAT), w * REPEAT)
                gains = []
                for snr in args.snr:
                    x = s + rng.standard_normal(s.size) * np.sqrt(s.var() / 10 ** (snr / 10))
                    clean, noisy = s.reshape(-1, w), x.reshape(-1, w)
                    err_in = ((noisy - clean) ** 2).sum()
                    err_out = ((runner.denoise(noisy) - clean) ** 2).sum()
                    gains.append(10 * np.log10(err_in / err_out))
                print(f"  {name:10s} plateaus >= {shortest} samples: " + " / ".join(f"{g:+6.2f}" for g in gains))


if __name__ == "__main__":
    main()
