"""The networks. Each maps scaled windows (batch, W, 1) to scaled windows (batch, W, 1)."""

from __future__ import annotations

from typing import Any

import numpy as np

from hush.config import ConfigError, TrainConfig


def seed_model(window: int) -> Any:
    """The tutorial's autoencoder, layer for layer: 28,737 parameters for W = 150."""
    import keras
    from keras import layers

    conv = dict(kernel_size=3, kernel_constraint=keras.constraints.MaxNorm(2.0), activation="relu",
                kernel_initializer="he_uniform")
    # Explicit names: Keras numbers unnamed layers per process, and the names end up in the weights file,
    # whose hash is the model's id: the same seed must give the same id.
    inp = keras.Input((window, 1), name="noisy")
    x = layers.Conv1D(128, name="enc1", **conv)(inp)
    x = layers.Conv1D(32, name="enc2", **conv)(x)
    x = layers.Conv1DTranspose(32, name="dec1", **conv)(x)
    x = layers.Conv1DTranspose(128, name="dec2", **conv)(x)
    out = layers.Conv1D(1, kernel_size=3, kernel_constraint=keras.constraints.MaxNorm(2.0),
                        activation="sigmoid", padding="same", name="out")(x)
    return keras.Model(inp, out, name="seed")


def _shift(x: Any, by: int, window: int) -> Any:
    """x moved by `by` samples along time (positive: later), its edge sample repeated: built-in layers
    only, so the model file loads anywhere without custom code."""
    from keras import layers

    if by > 0:
        edge = layers.Cropping1D((0, window - 1))(x)
        return layers.Concatenate(axis=1)([edge] * by + [layers.Cropping1D((0, by))(x)])
    edge = layers.Cropping1D((window - 1, 0))(x)
    return layers.Concatenate(axis=1)([layers.Cropping1D((-by, 0))(x)] + [edge] * -by)


def _medians(x: Any, window: int) -> tuple[Any, Any]:
    """Running medians of 3 and of 5 samples, by min/max networks (exact for any input)."""
    from keras import layers

    def med3(a: Any, b: Any, c: Any) -> Any:
        return layers.Maximum()([layers.Minimum()([a, b]), layers.Minimum()([layers.Maximum()([a, b]), c])])

    m2, m1, p1, p2 = (_shift(x, d, window) for d in (2, 1, -1, -2))
    med_3 = med3(m1, x, p1)
    f = layers.Maximum()([layers.Minimum()([m2, m1]), layers.Minimum()([p1, p2])])
    g = layers.Minimum()([layers.Maximum()([m2, m1]), layers.Maximum()([p1, p2])])
    return med_3, med3(x, f, g)


def dilated_model(window: int, filters: int, kernel_size: int, dilations: list[int],
                  median_channels: bool = False) -> Any:
    """A residual denoiser: dilated 'same' convolutions estimate the noise, which is subtracted.

    Predicting the noise (the residual) leaves the network a small, zero-mean target, and a window that is
    already clean passes through nearly untouched. Dilations 1, 2, 4, 8, 16, 1 with kernel 7 see 199 samples:
    every output sample sees the whole window.

    With `median_channels`, the network also reads the running medians of 3 and 5 samples of its input, and
    its last layer reads the input channels beside the hidden ones: an order statistic is what removes
    impulses, and convolutions with ReLUs learn it only approximately; given it, the network can answer
    like a median filter where there are spikes and like itself elsewhere.
    """
    import keras
    from keras import layers

    inp = keras.Input((window, 1), name="noisy")
    x = inp
    medians = _medians(inp, window) if median_channels else ()
    if medians:
        x = layers.Concatenate(name="with_medians")([inp, *medians])
    feats = x
    for i, d in enumerate(dilations):
        x = layers.Conv1D(filters, kernel_size, dilation_rate=d, padding="same", activation="relu",
                          name=f"conv{i}_d{d}")(x)
    if medians:
        x = layers.Concatenate(name="hidden_and_input")([x, feats])
    noise = layers.Conv1D(1, kernel_size, padding="same", name="noise")(x)
    out = layers.Subtract(name="denoised")([inp, noise])
    return keras.Model(inp, out, name="dilated")


POOLS = (2, 3, 5)  # unet: each scale's window is the one above pooled by this (150 -> 75 -> 25 -> 5)


def unet_model(window: int, levels: list[int], kernel_size: int, median_channels: bool = False) -> Any:
    """A multi-scale residual denoiser (a 1-D U-Net): `levels[0]` channels at the window's rate, then each
    scale pooled by POOLS and back, its answer added to the finer scale's features. The coarse scales see
    the whole window's shape for a fraction of the arithmetic that full-rate layers spend on it; the finest
    keeps four convolutions (the last dilated by 2) for what happens sample by sample, impulses and edges.
    Median channels as in dilated_model."""
    import keras
    from keras import layers

    pools = POOLS[: len(levels) - 1]
    if not 1 <= len(levels) <= len(POOLS) + 1 or min(levels) < 1:
        raise ConfigError(f"[train] levels: 1 to {len(POOLS) + 1} channel counts of at least 1, got {levels}")
    if window % int(np.prod(pools)):
        raise ConfigError(f"[train] levels: a window of {window} does not divide into {len(levels)} scales "
                          f"(pooled by {', '.join(map(str, pools))}): use a window that is a multiple of "
                          f"{int(np.prod(pools))}, or fewer levels")
    inp = keras.Input((window, 1), name="noisy")
    feats = layers.Concatenate(name="with_medians")([inp, *_medians(inp, window)]) if median_channels else inp

    def conv(c: int, k: int, name: str, d: int = 1) -> Any:
        return layers.Conv1D(c, k, dilation_rate=d, padding="same", activation="relu", name=name)

    x = conv(levels[0], kernel_size, "e0b")(conv(levels[0], kernel_size, "e0a")(feats))
    skips, length = [x], window
    for i, (p, c) in enumerate(zip(pools, levels[1:], strict=True), start=1):
        length //= p
        wide = length >= 2 * kernel_size  # two full-size convolutions where the scale has room for them
        x = conv(c, kernel_size if wide else 3, f"e{i}a")(layers.AveragePooling1D(p, name=f"down{i}")(x))
        skips.append(conv(c, kernel_size, f"e{i}b")(x) if wide else x)
        x = skips[-1]
    for i in range(len(pools), 0, -1):
        x = layers.UpSampling1D(pools[i - 1], name=f"up{i}")(conv(levels[i - 1], 3, f"to{i - 1}")(x))
        x = conv(levels[i - 1], kernel_size, f"d{i - 1}")(layers.Add(name=f"skip{i - 1}")([x, skips[i - 1]]))
    x = conv(levels[0], kernel_size, "d0b", d=2)(x)
    if median_channels:
        x = layers.Concatenate(name="hidden_and_input")([x, feats])
    noise = layers.Conv1D(1, kernel_size, padding="same", name="noise")(x)
    return keras.Model(inp, layers.Subtract(name="denoised")([inp, noise]), name="unet")


def build(cfg: TrainConfig) -> Any:
    if cfg.architecture == "seed":
        return seed_model(cfg.window)
    if cfg.architecture == "unet":
        return unet_model(cfg.window, cfg.levels, cfg.kernel_size, cfg.median_channels)
    return dilated_model(cfg.window, cfg.filters, cfg.kernel_size, cfg.dilations, cfg.median_channels)


def snr_losses(floor_db: float = 60.0) -> tuple[Any, Any]:
    """The snr loss and its blind-spot form, the error floored `floor_db` below the window's unit variance (the
    scaled coordinates): a window cleaner than the floor gains nothing more, so the floor belongs at or above
    the cleanest input the network must leave unharmed (`snr_db_max`)."""
    from keras import ops

    floor = 10.0 ** (-floor_db / 10.0)
    scale = 10.0 / np.log(10.0)

    def snr_loss(y_true: Any, y_pred: Any) -> Any:
        """Per window, 10 log10(mean squared error + floor): minimising its mean maximises the mean output SNR
        in dB, so a window at 40 dB counts as much as one at 0 dB (with plain MSE it weighs 10,000 times less,
        and the network learns to neglect the nearly clean windows it should leave alone)."""
        err = ops.mean(ops.square(y_pred - y_true), axis=[1, 2])
        return scale * ops.log(err + floor)

    def blind_snr_loss(y_true: Any, y_pred: Any) -> Any:
        """snr_loss over the hidden samples of blind-spot training only: y_true holds the target in channel 0
        and, in channel 1, 1 where a sample was hidden (trainer/selfsup.py)."""
        target, hidden = y_true[..., 0:1], y_true[..., 1:2]
        err = ops.sum(hidden * ops.square(y_pred - target), axis=[1, 2]) / ops.maximum(
            ops.sum(hidden, axis=[1, 2]), 1.0)
        return scale * ops.log(err + floor)

    return snr_loss, blind_snr_loss


snr_loss = snr_losses()[0]  # at the default floor, for experiments that compile their own networks


def loss_for(name: str, blind: bool = False, floor_db: float = 60.0) -> Any:
    snr, blind_snr = snr_losses(floor_db)
    if blind:
        return blind_snr if name == "snr" else "mse"
    return {"bce": "binary_crossentropy", "mse": "mse", "snr": snr}[name]
