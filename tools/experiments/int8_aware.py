"""Does fine-tuning with each inner convolution's input rounded to 8 bits per window (as the int8 engine,
runtime/lite.py, rounds it) teach the network to tolerate it, so that int8 passes its start-up check on
impulses? Fine-tunes the shipped model on the default recipe with a rounding layer before every inner
convolution (a straight-through estimator: the rounding in the forward pass, identity in the backward) and
the inner kernels rounded per output channel likewise, writes the result as an ordinary float32 model file,
and prints the int8 check of the shipped model and of the result.

    python tools/experiments/int8_aware.py OUT.keras [--n-windows 30000] [--epochs 4]

Then score both engines: `hush eval OUT.keras --engine graph|int8 --families held-out --noise white spikes`.
"""

from __future__ import annotations

import argparse
from typing import Any

from hush import modelfile
from hush.config import TrainConfig
from hush.paths import DEFAULT_MODEL
from hush.trainer import train as trainer


def rounded(x: Any, axes: Any) -> Any:
    """x on a symmetric 8-bit grid fitted to its largest magnitude over `axes`; gradients pass straight."""
    from keras import ops

    step = ops.maximum(ops.max(ops.abs(x), axis=axes, keepdims=True), 1e-12) / 127.0
    return x + ops.stop_gradient(ops.round(x / step) * step - x)


def layers_for_training() -> tuple[Any, Any]:
    import keras

    class Round8(keras.layers.Layer):
        """Each window's values rounded to 8 bits (its own range), as XNNPACK quantises a layer's input."""

        def call(self, x: Any) -> Any:
            return rounded(x, (1, 2))

    class Conv8(keras.layers.Conv1D):
        """A Conv1D whose kernel is rounded to 8 bits per output channel in the forward pass."""

        def convolution_op(self, inputs: Any, kernel: Any) -> Any:
            return super().convolution_op(inputs, rounded(kernel, (0, 1)))

    return Round8, Conv8


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--n-windows", type=int, default=30_000)
    p.add_argument("--epochs", type=int, default=4)
    args = p.parse_args()
    import keras

    start_from, write = trainer.start_from, modelfile.write
    original: dict[str, Any] = {}
    Round8, Conv8 = layers_for_training()

    def rounding_start(cfg: TrainConfig, init: Any, k: Any) -> Any:
        model, source = start_from(cfg, init, k)
        original["config"] = model.get_config()
        inner = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv1D)][1:-1]

        def clone(layer: Any) -> Any:
            if layer in inner:
                return keras.Sequential([Round8(), Conv8.from_config(layer.get_config())], name=layer.name)
            return layer.__class__.from_config(layer.get_config())

        rounding = keras.models.clone_model(model, clone_function=clone)
        rounding.set_weights(model.get_weights())
        return rounding, source

    def float32_write(model: Any, path: Any, meta: dict[str, Any]) -> Any:
        plain = keras.Model.from_config(original["config"])
        plain.set_weights(model.get_weights())
        return write(plain, path, meta)

    trainer.start_from, modelfile.write = rounding_start, float32_write  # type: ignore[assignment]
    cfg = TrainConfig(out=args.out, n_windows=args.n_windows, epochs=args.epochs)
    trainer.train(cfg, init=str(DEFAULT_MODEL))

    from hush.runtime.runner import Runner

    for path in (DEFAULT_MODEL, args.out):
        print(f"{path}: {Runner.load(path, max_batch=64, engine='int8').checks['int8']}")


if __name__ == "__main__":
    main()
