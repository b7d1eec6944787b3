"""Issue 16: a network whose input and output are in units of the window's own noise, so that 8-bit
activations keep what a nearly clean window needs (docs/performance.md, "Reduced precision").

Today's network reads the scaled window z (unit variance) and answers its noise in the same units; at 30 dB
the noise is 1/30 of the signal, about one step of an 8-bit activation, and full-integer int8 loses 7 dB
there. The `noise-units` network reads instead the residual r = z - median5(z) divided by its own RMS s
(so the noise fills the 8-bit range at any SNR), beside the running medians of that, median5(z) itself
(the signal's shape) and log10(s) (how big the noise is); it answers the noise in units of s, and the
subtraction z - s * answer runs in float32. `cascade` adds a small float32 network on z beside it, for the
part of the answer that is in the signal's units. Each is trained alike, on a third of the default recipe.

    python tools/experiments/noise_units.py train plain|noise-units|cascade OUT.keras [--epochs 12]
    python tools/experiments/noise_units.py compare KIND=PATH ... [--noise white pink spikes brown] [--dynamic]

`compare` converts each network to TensorFlow Lite in float32 and full-integer int8 (calibrated on 500
recipe windows; with `--dynamic`, dynamic-range int8 as the daemon's int8 engine runs it; the pre-part
stays in NumPy, float32), and prints windows/s at batch 64 on one thread and the
mean SNR gain on 2,048 held-out windows (trainer/heldout.py) at 0-30 dB. Not an engine: it measures whether
one is worth building.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from scipy.ndimage import median_filter

from hush import scaling
from hush.config import TrainConfig
from hush.runtime.tfenv import tensorflow
from hush.trainer import data, evaluate, noise
from hush.trainer.heldout import HELDOUT
from hush.trainer.model import dilated_model, snr_loss

W, DILATIONS = 150, [1, 2, 4, 8, 16, 1]
KINDS = ("plain", "noise-units", "cascade", "sequence")
DYNAMIC = False  # compare --dynamic: int8 as the daemon's int8 engine runs it (runtime/lite.py)


def med(x: np.ndarray, k: int) -> np.ndarray:
    """Running median of k samples along time, edge samples repeated (as trainer/model.py's medians)."""
    return median_filter(x, size=(1, k), mode="nearest")


def noise_view(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(features (n, W, 5), s (n, 1)): the residual in units of its RMS s, its medians of 3 and 5, the median
    of 5 of z, and log10 s."""
    m = med(z, 5)
    r = z - m
    s = np.maximum(np.sqrt((r.astype(np.float64) ** 2).mean(axis=1, keepdims=True)), 1e-4).astype(np.float32)
    u = r / s
    feats = [u, med(u, 3), med(u, 5), m, np.repeat(np.log10(s), W, axis=1)]
    return np.stack(feats, axis=-1).astype(np.float32), s


def signal_view(z: np.ndarray) -> np.ndarray:
    """The window and its medians of 3 and 5, in the signal's units (n, W, 3)."""
    return np.stack([z, med(z, 3), med(z, 5)], axis=-1).astype(np.float32)


def stack(channels: int, filters: int, dilations: list[int], name: str) -> Any:
    """Dilated 'same' convolutions; the last reads the hidden channels and the input's."""
    import keras
    from keras import layers

    inp = keras.Input((W, channels))
    x = inp
    for i, d in enumerate(dilations):
        x = layers.Conv1D(filters, 7, dilation_rate=d, padding="same", activation="relu", name=f"{name}{i}")(x)
    x = layers.Concatenate()([x, inp])
    return keras.Model(inp, layers.Conv1D(1, 7, padding="same", name=f"{name}_out")(x), name=name)


def sequence_network() -> Any:
    """A small float32 network's estimate first (head: 16 channels, dilations 1, 2, 4), then the core reads
    what it left (z minus it) in units of that residual's RMS s, with the estimate and log10 s, and answers the
    estimate's error in units of s."""
    import keras
    from keras import layers, ops

    from hush.trainer.model import _medians

    g = keras.Input((W, 3), name="g")
    left = stack(3, 16, [1, 2, 4], "head")(g)  # z minus the estimate
    estimate = layers.Subtract()([g[..., 0:1], left])
    s = ops.maximum(ops.sqrt(ops.mean(ops.square(left), axis=1, keepdims=True)), 1e-4)
    u = left / s
    feats = layers.Concatenate()([u, *_medians(u, W), estimate, ops.log10(s) * ops.ones_like(u)])
    return keras.Model(g, estimate + s * stack(5, 32, DILATIONS, "core")(feats))


def network(kind: str) -> Any:
    """The trainable network for `kind`; its inputs are `inputs(kind, z)`."""
    import keras
    from keras import layers

    if kind == "plain":
        return dilated_model(W, 32, 7, DILATIONS, median_channels=True)
    if kind == "sequence":
        return sequence_network()
    f, s = keras.Input((W, 5), name="f"), keras.Input((W, 1), name="s")
    noise_part = layers.Multiply()([s, stack(5, 32, DILATIONS, "core")(f)])
    if kind == "noise-units":
        z = keras.Input((W, 1), name="z")
        return keras.Model([f, s, z], layers.Subtract()([z, noise_part]))
    g = keras.Input((W, 3), name="g")
    head = stack(3, 8, [1, 2], "head")(g)
    return keras.Model([f, s, g], layers.Subtract()([g[..., 0:1], layers.Add()([noise_part, head])]))


def inputs(kind: str, z: np.ndarray) -> Any:
    if kind == "plain":
        return z[..., None]
    if kind == "sequence":
        return signal_view(z)
    f, s = noise_view(z)
    s_w = np.repeat(s, W, axis=1)[..., None]
    return [f, s_w, z[..., None] if kind == "noise-units" else signal_view(z)]


def recipe_windows(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n windows of the default recipe (families, mix noise at -5 to 60 dB), scaled: (noisy z, clean z)."""
    clean = data.synthetic_clean(TrainConfig(), n, rng)
    z, (centre, scale) = scaling.forward(noise.add_noise(clean, TrainConfig(), rng), "standardize")
    return z, ((clean - centre) / scale).astype(np.float32)


def train(kind: str, out: str, epochs: int) -> None:
    tensorflow(1, 1)
    import keras

    keras.utils.set_random_seed(0)
    z, target = recipe_windows(40000, np.random.default_rng(0))
    model = network(kind)
    model.compile(keras.optimizers.Adam(1e-3), loss=snr_loss)
    t0 = time.time()
    model.fit(inputs(kind, z[:36000]), target[:36000, :, None], batch_size=64, epochs=epochs, verbose=2,
              validation_data=(inputs(kind, z[36000:]), target[36000:, :, None]),
              callbacks=[keras.callbacks.ReduceLROnPlateau(patience=2, factor=0.5)])
    print(f"{kind}: trained in {time.time() - t0:.0f} s")
    model.save(out)


class Lite:
    """One TensorFlow Lite network at batch 64 on one thread."""

    def __init__(self, tf: Any, keras_model: Any, calibration: np.ndarray | None):
        conv = tf.lite.TFLiteConverter.from_keras_model(keras_model)
        if calibration is not None and DYNAMIC:  # int8 weights, activations quantised per window at run time
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
        elif calibration is not None:  # full integer: int8 weights and activations, ranges from calibration
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            conv.representative_dataset = lambda: ([v[None]] for v in calibration)
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        self.it = tf.lite.Interpreter(model_content=conv.convert(), num_threads=1)
        self.i, self.o = self.it.get_input_details()[0]["index"], self.it.get_output_details()[0]["index"]
        self.it.resize_tensor_input(self.i, [64, W, keras_model.input_shape[-1]])
        self.it.allocate_tensors()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = []
        for k in range(0, len(x), 64):
            chunk = x[k:k + 64]
            self.it.set_tensor(self.i, np.concatenate([chunk, np.zeros((64 - len(chunk), *x.shape[1:]), x.dtype)]))
            self.it.invoke()
            out.append(self.it.get_tensor(self.o)[:len(chunk), :, 0])
        return np.concatenate(out)

    def rate(self, x: np.ndarray) -> float:
        rounds = []
        for _ in range(5):
            t0, n = time.perf_counter(), 0
            while time.perf_counter() - t0 < 1.0:
                self.it.set_tensor(self.i, x[:64])
                self.it.invoke()
                n += 64
            rounds.append(n / (time.perf_counter() - t0))
        return float(np.median(rounds))


def engines(tf: Any, kind: str, path: str, calib_z: np.ndarray) -> tuple[dict[bool, Any], list[float]]:
    """{int8: denoise(z)} for the network in `path`, float32 and int8 (the cascade's head stays float32),
    and the network's windows/s in each."""
    import keras

    model = keras.models.load_model(path, compile=False)
    if kind == "plain":  # the noise estimate; the subtraction in float32 (int8_probe.py's "body")
        net = keras.Model(model.input, model.get_layer("noise").output)
        lites = {q: Lite(tf, net, calib_z[..., None] if q else None) for q in (False, True)}
        rates = [lites[q].rate(calib_z[:64, :, None]) for q in (False, True)]
        return {q: (lambda z, lite=lite: z - lite(z[..., None])) for q, lite in lites.items()}, rates
    if kind == "sequence":
        return sequence_engines(tf, model, calib_z)
    calib = noise_view(calib_z)[0]
    cores = {q: Lite(tf, model.get_layer("core"), calib if q else None) for q in (False, True)}
    head = Lite(tf, model.get_layer("head"), None) if kind == "cascade" else None

    def run(z: np.ndarray, core: Lite) -> np.ndarray:
        f, s = noise_view(z)
        return z - s * core(f) - (head(signal_view(z)) if head else 0.0)

    rates = [cores[q].rate(calib[:64]) for q in (False, True)]
    return {q: (lambda z, core=core: run(z, core)) for q, core in cores.items()}, rates


def sequence_engines(tf: Any, model: Any, calib_z: np.ndarray) -> tuple[dict[bool, Any], list[float]]:
    """engines() for the sequence network: the head and the arithmetic around the core in float32."""
    head = Lite(tf, model.get_layer("head"), None)

    def view(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        left = head(signal_view(z))
        s = np.maximum(np.sqrt((left.astype(np.float64) ** 2).mean(axis=1, keepdims=True)), 1e-4).astype(np.float32)
        u, estimate = left / s, z - left
        feats = [u, med(u, 3), med(u, 5), estimate, np.repeat(np.log10(s), W, axis=1)]
        return np.stack(feats, axis=-1).astype(np.float32), s, estimate

    calib = view(calib_z)[0]
    cores = {q: Lite(tf, model.get_layer("core"), calib if q else None) for q in (False, True)}

    def run(z: np.ndarray, core: Lite) -> np.ndarray:
        feats, s, estimate = view(z)
        return estimate + s * core(feats)

    rates = [cores[q].rate(calib[:64]) for q in (False, True)]
    return {q: (lambda z, core=core: run(z, core)) for q, core in cores.items()}, rates


def compare(specs: list[tuple[str, str]], kinds: list[str]) -> None:
    tf = tensorflow(1, 1)
    rng = np.random.default_rng(1)
    calib_z = recipe_windows(500, rng)[0]
    built = {kind: engines(tf, kind, path, calib_z) for kind, path in specs}
    for kind, (_, rates) in built.items():
        print(f"{kind}: network at batch 64, 1 thread: float32 {rates[0]:,.0f} windows/s, int8 {rates[1]:,.0f} "
              f"({rates[1] / rates[0]:.2f}x)")
    t0 = time.perf_counter()
    for _ in range(50):
        noise_view(calib_z[:64])
    print(f"noise_view in NumPy: {50 * 64 / (time.perf_counter() - t0):,.0f} windows/s")
    runs = {kind: run for kind, (run, _) in built.items()}
    cfg = TrainConfig(families=list(HELDOUT), amplitude_min=0.001, amplitude_max=1000.0, offset_max=1000.0)
    clean = data.synthetic_clean(cfg, 2048, rng, HELDOUT)
    print("mean SNR gain on 2,048 held-out windows (hush eval's scorer), dB: float32 / int8 (int8 - float32)")
    for kind in kinds:
        for snr_db in (0.0, 10.0, 20.0, 30.0):
            noisy = noise.add_noise(clean, cfg, rng, snr_db, [kind])
            z, state = scaling.forward(noisy, "standardize")
            line = f"{kind:>6} {snr_db:>2g} dB"
            for name, run in runs.items():
                f32, i8 = (evaluate.compare(clean, noisy, scaling.inverse(run[q](z), state))["snr_gain_db"]
                           for q in (False, True))
                line += f" | {name} {f32:+.2f} / {i8:+.2f} ({i8 - f32:+.2f})"
            print(line, flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("kind", choices=KINDS)
    t.add_argument("out")
    t.add_argument("--epochs", type=int, default=12)
    c = sub.add_parser("compare")
    c.add_argument("models", nargs="+", help="KIND=PATH")
    c.add_argument("--noise", nargs="+", default=["white", "pink", "spikes", "brown"])
    c.add_argument("--dynamic", action="store_true", help="int8 with dynamic-range quantisation (the int8 "
                   "engine's), not full integer")
    args = p.parse_args()
    global DYNAMIC
    DYNAMIC = args.cmd == "compare" and args.dynamic
    if args.cmd == "train":
        train(args.kind, args.out, args.epochs)
    else:
        compare([tuple(m.split("=", 1)) for m in args.models], args.noise)  # type: ignore[misc]


if __name__ == "__main__":
    main()
