"""Does fine-tuning with the inner convolutions' arithmetic as a reduced-precision engine does it teach the
network to tolerate it, so that the engine passes its start-up check (runtime/bf16.py)? Fine-tunes the
shipped model on the default recipe with its inner convolutions changed for training, writes the result as
an ordinary float32 model file, and prints the engine's check of the shipped model and of the result.

- `bf16`: those layers in Keras's mixed_bfloat16 policy (float32 weights, bfloat16 arithmetic), as the bf16
  engine runs them.
- `int8`: each inner convolution's input rounded to 8 bits over its window's largest magnitude and its kernel
  per output channel (a straight-through estimator: rounded forward, identity backward), a simulation of the
  int8 engine's dynamic-range quantisation (runtime/lite.py).

    python tools/experiments/precision_aware.py bf16|int8 OUT.keras [--n-windows 30000] [--epochs 4]

Then score both engines: `hush eval OUT.keras --engine graph|ENGINE --families held-out --noise white spikes`.
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


def int8_training(model: Any) -> Any:
    """The model with a per-window 8-bit rounding before each inner convolution and its kernel rounded."""
    import keras

    class Round8(keras.layers.Layer):
        def call(self, x: Any) -> Any:
            return rounded(x, (1, 2))

    class Conv8(keras.layers.Conv1D):
        def convolution_op(self, inputs: Any, kernel: Any) -> Any:
            return super().convolution_op(inputs, rounded(kernel, (0, 1)))

    inner = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv1D)][1:-1]

    def clone(layer: Any) -> Any:
        if layer in inner:
            return keras.Sequential([Round8(), Conv8.from_config(layer.get_config())], name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    return keras.models.clone_model(model, clone_function=clone)


def bf16_training(model: Any) -> Any:
    """The model with its inner convolutions computing in bfloat16 (float32 weights)."""
    import keras

    config = model.get_config()
    for layer in [layer for layer in config["layers"] if layer["class_name"] == "Conv1D"][1:-1]:
        layer["config"]["dtype"] = "mixed_bfloat16"
    return keras.Model.from_config(config)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("engine", choices=("bf16", "int8"))
    p.add_argument("out")
    p.add_argument("--n-windows", type=int, default=30_000)
    p.add_argument("--epochs", type=int, default=4)
    args = p.parse_args()
    import keras

    for_training = {"bf16": bf16_training, "int8": int8_training}[args.engine]
    start_from, write = trainer.start_from, modelfile.write
    original: dict[str, Any] = {}

    def changed_start(cfg: TrainConfig, init: Any, k: Any) -> Any:
        model, source = start_from(cfg, init, k)
        original["config"] = model.get_config()
        changed = for_training(model)
        changed.set_weights(model.get_weights())
        return changed, source

    def float32_write(model: Any, path: Any, meta: dict[str, Any]) -> Any:
        plain = keras.Model.from_config(original["config"])
        plain.set_weights([w.astype("float32") for w in model.get_weights()])
        return write(plain, path, meta)

    trainer.start_from, modelfile.write = changed_start, float32_write  # type: ignore[assignment]
    trainer.train(TrainConfig(out=args.out, n_windows=args.n_windows, epochs=args.epochs), init=str(DEFAULT_MODEL))

    from hush.runtime.runner import Runner

    for path in (DEFAULT_MODEL, args.out):
        print(f"{path}: {Runner.load(path, max_batch=64, engine=args.engine).checks[args.engine]}")


if __name__ == "__main__":
    main()
