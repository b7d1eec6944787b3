"""A probe for issue 16: the shipped model as TensorFlow Lite with float16 weights, and with float16
accumulation as well (the converter's flag for XNNPACK's native half-precision inference, which these cores'
AVX512-FP16 could run at twice float32's arithmetic), against the float32 model, in one run: windows/s at
batch 64 on one thread (the median of 5 one-second rounds, as int8_probe.py), and the output SNR on held-out
windows with white and impulsive noise at 0-40 dB, scaled as the daemon scales them.

    python tools/experiments/fp16_probe.py [--save DIR]

`--save DIR` also writes the three flatbuffers (f32.tflite, w16.tflite, fp16.tflite), to time them under
another runtime (ai-edge-litert). Not an engine: it measures whether one is worth building.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path
from typing import Any

import numpy as np

from hush import scaling
from hush.config import TrainConfig
from hush.paths import DEFAULT_MODEL
from hush.runtime.tfenv import tensorflow
from hush.tools.experiments.int8_probe import rate, run  # run: whole batches of 64
from hush.trainer import noise
from hush.trainer.heldout import HELDOUT


def convert(tf: Any, model: Any, weights16: bool, accumulate16: bool) -> bytes:
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if weights16:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    if accumulate16:
        conv.target_spec._experimental_supported_accumulation_type = tf.dtypes.float16
    with contextlib.redirect_stdout(io.StringIO()):
        return bytes(conv.convert())


def snr_db(clean: np.ndarray, out: np.ndarray) -> float:
    err = ((out - clean) ** 2).mean(axis=1)
    return float(np.mean(np.minimum(10 * np.log10(clean.var(axis=1) / np.maximum(err, 1e-30)), 60.0)))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--save", type=Path)
    args = p.parse_args()
    tf = tensorflow()
    import keras

    model = keras.models.load_model(DEFAULT_MODEL, compile=False)
    flats = {"f32": convert(tf, model, False, False), "w16": convert(tf, model, True, False),
             "fp16": convert(tf, model, True, True)}
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for name, flat in flats.items():
            (args.save / f"{name}.tflite").write_bytes(flat)
    z = np.random.default_rng(0).standard_normal((64, 150)).astype(np.float32)
    rates = ", ".join(f"{n} {rate(tf, f, z):,.0f} windows/s" for n, f in flats.items())
    print(f"model alone, batch 64, 1 thread: {rates}")
    rng = np.random.default_rng(1)
    clean = np.concatenate([make(rng, 128, 150, 16.0) for make in HELDOUT.values()]).astype(np.float64)  # 16 batches
    for kind in ("white", "spikes"):
        for snr in (0.0, 10.0, 20.0, 30.0, 40.0):
            noisy = noise.add_noise(clean, TrainConfig(noise=[kind], snr_db_min=snr, snr_db_max=snr),
                                    np.random.default_rng(2))
            z, state = scaling.forward(noisy, "standardize")
            got = {n: snr_db(clean, scaling.inverse(run(tf, f, z), state)) for n, f in flats.items()}
            print(f"held-out, {kind} at {snr:g} dB: output SNR " + ", ".join(f"{n} {v:.2f}" for n, v in got.items())
                  + f" (fp16 - f32 {got['fp16'] - got['f32']:+.3f} dB)")


if __name__ == "__main__":
    main()
