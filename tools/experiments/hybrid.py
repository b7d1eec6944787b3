"""A probe for issue 12: the unet's coarse scales added to the default's dilated network, not put in place of it.

The multi-scale network (`unet_model` in trainer/model.py) gains 0.5-1 dB over the dilated default at 0 to 30 dB
on unseen shapes, but harms nearly clean input more; it keeps four full-rate layers where the default has seven.
This network keeps the default whole (median channels, dilations 1, 2, 4, 8, 16, 1, kernel 7) and inserts the
unet's coarse tower after the first `--at` full-rate layers: their features pooled by 2, 3 and 5 (150 -> 75 ->
25 -> 5), convolved at each scale and brought back up, added to the full-rate features that the remaining dilated
layers read. Built-in layers only, so the model file serves as any other. Trains the recipe of a config file's
[train] section, as `hush train --config` would:

    python tools/experiments/hybrid.py OUT.keras --config R.toml [--at 2] [--levels 48 64 96]
    python tools/experiments/hybrid.py OUT.keras --clean data/ecg_mitbih208.npy --noise white

Then score it beside the dilated network of the same budget: `hush eval OUT.keras --families held-out
--windows 1000 --noise white pink brown wander spikes mix hum --seed 10007`, and near clean with `--noise white
wander --snr 30 40 50 60`.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from hush import config
from hush.trainer import model as networks
from hush.trainer import train as trainer


def hybrid_model(window: int, filters: int, kernel_size: int, dilations: list[int], at: int,
                 levels: list[int]) -> Any:
    import keras
    from keras import layers

    def conv(c: int, k: int, name: str, d: int = 1) -> Any:
        return layers.Conv1D(c, k, dilation_rate=d, padding="same", activation="relu", name=name)

    inp = keras.Input((window, 1), name="noisy")
    feats = layers.Concatenate(name="with_medians")([inp, *networks._medians(inp, window)])
    x = feats
    for i, d in enumerate(dilations[:at]):
        x = conv(filters, kernel_size, f"conv{i}_d{d}", d)(x)
    pools = networks.POOLS[: len(levels)]
    skips, h, length = [x], x, window
    for i, (p, c) in enumerate(zip(pools, levels, strict=True), start=1):
        length //= p
        wide = length >= 2 * kernel_size
        h = conv(c, kernel_size if wide else 3, f"e{i}a")(layers.AveragePooling1D(p, name=f"down{i}")(h))
        h = conv(c, kernel_size, f"e{i}b")(h) if wide else h
        skips.append(h)
    widths = [filters, *levels]
    for i in range(len(pools), 0, -1):
        h = layers.UpSampling1D(pools[i - 1], name=f"up{i}")(conv(widths[i - 1], 3, f"to{i - 1}")(h))
        if i > 1:
            h = conv(widths[i - 1], kernel_size, f"d{i - 1}")(layers.Add(name=f"skip{i - 1}")([h, skips[i - 1]]))
    x = layers.Add(name="coarse_in")([x, h])
    for i, d in enumerate(dilations[at:], start=at):
        x = conv(filters, kernel_size, f"conv{i}_d{d}", d)(x)
    x = layers.Concatenate(name="hidden_and_input")([x, feats])
    noise = layers.Conv1D(1, kernel_size, padding="same", name="noise")(x)
    return keras.Model(inp, layers.Subtract(name="denoised")([inp, noise]), name="hybrid")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--config", help="config file (default: $HUSH_CONFIG or ./config.toml)")
    p.add_argument("--at", type=int, default=2, help="full-rate layers before the coarse tower joins")
    p.add_argument("--levels", type=int, nargs="+", default=[48, 64, 96],
                   help="channels of the coarse scales (pooled by 2, 3, 5)")
    p.add_argument("--clean", help="train on this clean recording, as `hush train --clean` (its noise: --noise)")
    p.add_argument("--noise", nargs="+", help="noise kinds, as `hush train --noise`")
    args = p.parse_args()
    cfg = dataclasses.replace(config.load(args.config).train, out=args.out)
    if args.noise:
        cfg = dataclasses.replace(cfg, noise=args.noise)
    trainer.build = lambda c: hybrid_model(c.window, c.filters, c.kernel_size, c.dilations,  # type: ignore[assignment]
                                           args.at, args.levels)
    trainer.train(cfg, clean_path=args.clean)


if __name__ == "__main__":
    main()
