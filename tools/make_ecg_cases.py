"""Make the files behind docs/quality.md's "Training from what users have", from the shipped real ECG
(data/ecg_mitbih208.npy, 360 Hz), into a folder (default ecg-cases/):

- ecg_noisy10.npy: the whole recording with white noise added once, 10 dB below its power: all that
  `hush train --noisy` sees;
- ecg_10pct.npy: the recording's first 10 % (30 s), for `--init models/default.keras`;
- coloured_noise_alone.npy: 60 s of a sensor's noise with no signal (pink noise and 50 Hz hum with its 3rd
  harmonic, and an offset), for `--noise-file`;
- ecg_coloured.npy: the recording with 5 minutes more of that same noise on it, 10 dB below its power.

    .venv/bin/python -m hush.tools.make_ecg_cases [FOLDER]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent.parent / "data"  # the repository's data/ (run it in a checkout)
RATE = 360.0


def pink(rng: np.random.Generator, n: int) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=float)
    f[0], spec[0] = 1.0, 0.0
    x = np.fft.irfft(spec / np.sqrt(f), n=n)
    return x / x.std()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    x = np.load(HERE / "ecg_mitbih208.npy").astype(np.float64)
    rng = np.random.default_rng(42)
    power = x.var()
    np.save(out / "ecg_noisy10.npy", x + rng.standard_normal(x.size) * np.sqrt(power / 10))
    np.save(out / "ecg_10pct.npy", x[: x.size // 10])
    t = np.arange(x.size + int(60 * RATE)) / RATE
    hum = np.sin(2 * np.pi * 50 * t) + 0.4 * np.sin(2 * np.pi * 150 * t + 1.0)
    noise = pink(rng, t.size) + 0.8 * hum / hum.std()
    noise *= np.sqrt(power / 10) / noise.std()
    np.save(out / "coloured_noise_alone.npy", noise[x.size:] + 0.3)
    np.save(out / "ecg_coloured.npy", x + noise[: x.size])
    print(f"wrote ecg_noisy10.npy, ecg_10pct.npy, coloured_noise_alone.npy and ecg_coloured.npy in {out}/")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("ecg-cases"))
