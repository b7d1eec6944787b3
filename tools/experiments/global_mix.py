"""A probe for issue 12: does a view of the whole window at once help the default network on unseen shapes?

The default network (trainer/model.py, `dilated_model`) sees the window through stacked local convolutions.
This one adds global time-mixing branches: a 1x1 convolution to a few channels, then dense layers along
time (the window to `rank` coefficients and back, shared over those channels), whose answer is concatenated
to the features. A learned projection of the whole window can do what a polynomial or subspace fit does, and
costs little (8 channels, rank 32: 9,920 parameters, 0.25 MFLOP per window). `--where` names the hidden
layers the branch feeds, counted from 0 (the default: only the last, noise-estimating layer, 6 for the
default's six dilations). Built-in layers only, so the model file serves as any other. Trains the recipe of a
config file's [train] section, as `hush train --config` would:

    python tools/experiments/global_mix.py OUT.keras --config R.toml [--channels 8] [--rank 32] [--where 3 6]

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


def global_mix_model(window: int, filters: int, kernel_size: int, dilations: list[int], channels: int, rank: int,
                     where: tuple[int, ...]) -> Any:
    import keras
    from keras import layers

    inp = keras.Input((window, 1), name="noisy")
    feats = layers.Concatenate(name="with_medians")([inp, *networks._medians(inp, window)])

    def mix(h: Any, tag: str) -> Any:
        g = layers.Permute((2, 1), name=f"g{tag}_t")(layers.Conv1D(channels, 1, name=f"g{tag}_in")(h))
        if rank < window:
            g = layers.Dense(rank, use_bias=False, name=f"g{tag}_down")(g)
        g = layers.Dense(window, use_bias=False, name=f"g{tag}_up")(g)
        return layers.Permute((2, 1), name=f"g{tag}_back")(g)

    x = feats
    for i, d in enumerate(dilations):
        if i in where:
            x = layers.Concatenate(name=f"cat{i}")([x, mix(x, str(i))])
        x = layers.Conv1D(filters, kernel_size, dilation_rate=d, padding="same", activation="relu",
                          name=f"conv{i}_d{d}")(x)
    parts = [x, feats] + ([mix(x, "end")] if len(dilations) in where else [])
    x = layers.Concatenate(name="hidden_and_input")(parts)
    noise = layers.Conv1D(1, kernel_size, padding="same", name="noise")(x)
    return keras.Model(inp, layers.Subtract(name="denoised")([inp, noise]), name="dilated_global_mix")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--config", help="config file (default: $HUSH_CONFIG or ./config.toml)")
    p.add_argument("--channels", type=int, default=8, help="channels each branch mixes along time")
    p.add_argument("--rank", type=int, default=32, help="coefficients per channel (the window's length: full rank)")
    p.add_argument("--where", type=int, nargs="+", help="hidden layers fed, from 0 (default: the last)")
    args = p.parse_args()
    cfg = dataclasses.replace(config.load(args.config).train, out=args.out)
    where = tuple(args.where or [len(cfg.dilations)])
    trainer.build = lambda c: global_mix_model(c.window, c.filters, c.kernel_size, c.dilations,  # type: ignore[assignment]
                                               args.channels, args.rank, where)
    trainer.train(cfg)


if __name__ == "__main__":
    main()
