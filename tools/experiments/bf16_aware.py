"""Does fine-tuning with the inner convolutions computing in bfloat16 teach the network to tolerate the
rounding, so that the bf16 engine (runtime/bf16.py) passes its quality check? Fine-tunes the shipped model
on the default recipe with those layers in Keras's mixed_bfloat16 policy (float32 weights, bfloat16
arithmetic), writes the result as an ordinary float32 model file, and prints the bf16 check of the shipped
model and of the result.

    python tools/experiments/bf16_aware.py OUT.keras [--n-windows 30000] [--epochs 4]

Then score both engines: `hush eval OUT.keras --engine graph|bf16 --families held-out --noise white spikes`.
"""

from __future__ import annotations

import argparse
from typing import Any

from hush import modelfile
from hush.config import TrainConfig
from hush.paths import DEFAULT_MODEL
from hush.trainer import train as trainer


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--n-windows", type=int, default=30_000)
    p.add_argument("--epochs", type=int, default=4)
    args = p.parse_args()
    import keras

    start_from, write = trainer.start_from, modelfile.write
    original: dict[str, Any] = {}

    def mixed_start(cfg: TrainConfig, init: Any, k: Any) -> Any:
        model, source = start_from(cfg, init, k)
        original["config"] = model.get_config()
        config = model.get_config()
        convs = [layer for layer in config["layers"] if layer["class_name"] == "Conv1D"]
        for layer in convs[1:-1]:
            layer["config"]["dtype"] = "mixed_bfloat16"
        mixed = keras.Model.from_config(config)
        mixed.set_weights(model.get_weights())
        return mixed, source

    def float32_write(model: Any, path: Any, meta: dict[str, Any]) -> Any:
        plain = keras.Model.from_config(original["config"])
        plain.set_weights([w.astype("float32") for w in model.get_weights()])
        return write(plain, path, meta)

    trainer.start_from, modelfile.write = mixed_start, float32_write  # type: ignore[assignment]
    cfg = TrainConfig(out=args.out, n_windows=args.n_windows, epochs=args.epochs)
    trainer.train(cfg, init=str(DEFAULT_MODEL))

    from hush.runtime.runner import Runner

    for path in (DEFAULT_MODEL, args.out):
        print(f"{path}: {Runner.load(path, max_batch=64, engine='bf16').checks['bf16']}")


if __name__ == "__main__":
    main()
