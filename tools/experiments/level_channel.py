"""A probe for issue 12: does the network gain at low SNR when it is told each window's noise level?

FFDNet (Zhang et al. 2018) feeds a denoiser a noise-level map beside the image. Here the level is estimated
from the window itself, with built-in layers only (the model file serves as any other): the mean absolute
difference between the window and its running median of 3 samples, a robust measure of what is not smooth,
broadcast to every sample as one more input channel. `--into all` also feeds it to every hidden layer, so
each layer's ReLUs can shift with the level. Trains the recipe of a config file's [train] section, as
`hush train --config` would:

    python tools/experiments/level_channel.py OUT.keras --config R.toml [--into first|all]

Then score it beside the dilated network of the same budget: `hush eval OUT.keras --families held-out
--windows 1000 --noise white pink brown wander spikes mix hum --seed 10007`.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from hush import config
from hush.trainer import model as networks
from hush.trainer import train as trainer


def level_model(window: int, filters: int, kernel_size: int, dilations: list[int], into: str) -> Any:
    import keras
    from keras import layers

    inp = keras.Input((window, 1), name="noisy")
    med3, med5 = networks._medians(inp, window)
    dev = layers.Maximum(name="abs_dev")([layers.Subtract(name="dev_p")([inp, med3]),
                                          layers.Subtract(name="dev_n")([med3, inp])])
    level = layers.GlobalAveragePooling1D(keepdims=True, name="level")(dev)
    level = layers.UpSampling1D(window, name="level_map")(level)
    feats = layers.Concatenate(name="with_medians")([inp, med3, med5, level])
    x = feats
    for i, d in enumerate(dilations):
        if i and into == "all":
            x = layers.Concatenate(name=f"with_level{i}")([x, level])
        x = layers.Conv1D(filters, kernel_size, dilation_rate=d, padding="same", activation="relu",
                          name=f"conv{i}_d{d}")(x)
    x = layers.Concatenate(name="hidden_and_input")([x, feats])
    noise = layers.Conv1D(1, kernel_size, padding="same", name="noise")(x)
    return keras.Model(inp, layers.Subtract(name="denoised")([inp, noise]), name="dilated_level")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--config", help="config file (default: $HUSH_CONFIG or ./config.toml)")
    p.add_argument("--into", choices=["first", "all"], default="first", help="the layers that read the level")
    args = p.parse_args()
    cfg = dataclasses.replace(config.load(args.config).train, out=args.out)
    trainer.build = lambda c: level_model(c.window, c.filters, c.kernel_size, c.dilations,  # type: ignore[assignment]
                                          args.into)
    trainer.train(cfg)


if __name__ == "__main__":
    main()
