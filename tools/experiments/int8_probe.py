"""A first probe for issue 16: the shipped model as a full-integer (int8) TensorFlow Lite model against the
float32 one the daemon runs, in one run: windows/s at batch 64 (XNNPACK, 1 thread, the median of 5 timed
rounds each) and the SNR gain on held-out windows with white noise (scaled as the daemon scales them).

    python tools/experiments/int8_probe.py [--windows 2000] [--calibration white]

The quantiser sets each tensor's int8 range from calibration windows: by default 500 of the training recipe
(mix noise, spikes included, -5 to 60 dB); `--calibration white` takes white noise at 10-60 dB instead,
whose narrower ranges give finer steps to nearly clean windows.

Not an engine: it measures whether one is worth building.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hush import scaling
from hush.config import TrainConfig
from hush.paths import DEFAULT_MODEL
from hush.runtime.tfenv import tensorflow
from hush.trainer import data, noise
from hush.trainer.heldout import HELDOUT


def interpreter(tf: object, flat: bytes, batch: int) -> tuple[object, int, int]:
    it = tf.lite.Interpreter(model_content=flat, num_threads=1)  # type: ignore[attr-defined]
    inp = it.get_input_details()[0]["index"]
    it.resize_tensor_input(inp, [batch, 150, 1])
    it.allocate_tensors()
    return it, inp, it.get_output_details()[0]["index"]


def run(tf: object, flat: bytes, z: np.ndarray, batch: int = 64) -> np.ndarray:
    it, inp, out = interpreter(tf, flat, batch)
    res = []
    for i in range(0, len(z) - batch + 1, batch):
        it.set_tensor(inp, z[i:i + batch, :, None].astype(np.float32))  # type: ignore[attr-defined]
        it.invoke()  # type: ignore[attr-defined]
        res.append(it.get_tensor(out)[:, :, 0])  # type: ignore[attr-defined]
    return np.concatenate(res)


def rate(tf: object, flat: bytes, z: np.ndarray, batch: int = 64) -> float:
    it, inp, out = interpreter(tf, flat, batch)
    x = z[:batch, :, None].astype(np.float32)
    rounds = []
    for _ in range(5):
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < 1.0:
            it.set_tensor(inp, x)  # type: ignore[attr-defined]
            it.invoke()  # type: ignore[attr-defined]
            n += batch
        rounds.append(n / (time.perf_counter() - t0))
    return float(np.median(rounds))


def gain(clean: np.ndarray, noisy: np.ndarray, out: np.ndarray) -> float:
    """Mean per-window SNR gain, each window's SNR capped at 60 dB, as hush eval scores (flat windows left out)."""
    keep = clean.var(axis=1) > 0
    clean, noisy, out = clean[keep], noisy[keep], out[keep]
    var = clean.var(axis=1)
    snr = lambda e: 10 * np.log10(var / np.maximum((e ** 2).mean(axis=1), var * 1e-6))  # noqa: E731
    return float(np.mean(snr(out - clean) - snr(noisy - clean)))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--windows", type=int, default=2000)
    p.add_argument("--calibration", choices=("recipe", "white"), default="recipe")
    args = p.parse_args()
    tf = tensorflow()
    import keras

    model = keras.models.load_model(DEFAULT_MODEL, compile=False)
    cfg = TrainConfig(families=list(HELDOUT), amplitude_min=0.001, amplitude_max=1000.0, offset_max=1000.0)
    rng = np.random.default_rng(0)
    clean = data.synthetic_clean(cfg, args.windows, rng, HELDOUT)
    calib = data.synthetic_clean(TrainConfig(), 500, rng)
    calib_cfg = TrainConfig(noise=["white"], snr_db_min=10.0, snr_db_max=60.0) if args.calibration == "white" \
        else TrainConfig()
    calib_z, _ = scaling.forward(noise.add_noise(calib, calib_cfg, rng), "standardize")

    def int8(m: object, ops: object = tf.lite.OpsSet.TFLITE_BUILTINS_INT8) -> bytes:
        conv = tf.lite.TFLiteConverter.from_keras_model(m)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([z[None, :, None].astype(np.float32)] for z in calib_z)
        conv.target_spec.supported_ops = [ops]
        return conv.convert()

    f32 = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    i8 = int8(model)
    # The network's noise estimate alone in int8; the subtraction from the input stays in float32.
    body = int8(keras.Model(model.input, model.get_layer("noise").output))
    # int16 activations, int8 weights: 16-bit resolution where 8 bits lose a nearly clean window's noise.
    i16 = int8(model, tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8)
    print(f"model alone, batch 64, 1 thread: float32 {rate(tf, f32, calib_z):,.0f} windows/s, "
          f"int8 {rate(tf, i8, calib_z):,.0f} windows/s, int8 body {rate(tf, body, calib_z):,.0f} windows/s, "
          f"int16x8 {rate(tf, i16, calib_z):,.0f} windows/s")
    for snr in (0.0, 10.0, 20.0, 30.0):
        noisy = noise.add_noise(clean, cfg, rng, snr, ["white"])
        z, state = scaling.forward(noisy, "standardize")
        m = len(z) // 64 * 64  # whole batches
        outs = {name: scaling.inverse(run(tf, flat, z), (state[0][:m], state[1][:m])) for name, flat in
                (("float32", f32), ("int8", i8), ("int16x8", i16))}
        outs["body"] = scaling.inverse(z[:m] - run(tf, body, z), (state[0][:m], state[1][:m]))
        n = len(outs["float32"])
        g = {k: gain(clean[:n], noisy[:n], v) for k, v in outs.items()}
        print(f"held-out, white at {snr:g} dB: gain float32 {g['float32']:+.2f} dB, int8 {g['int8']:+.2f} dB "
              f"({g['int8'] - g['float32']:+.2f}), int8 body {g['body']:+.2f} dB ({g['body'] - g['float32']:+.2f}), "
              f"int16x8 {g['int16x8']:+.2f} dB ({g['int16x8'] - g['float32']:+.2f})")


if __name__ == "__main__":
    main()
