"""The networks. Both map scaled windows (batch, W, 1) to scaled windows (batch, W, 1)."""

from __future__ import annotations

from typing import Any

from hush.config import TrainConfig


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


def dilated_model(window: int, filters: int, kernel_size: int, dilations: list[int]) -> Any:
    """A residual denoiser: dilated 'same' convolutions estimate the noise, which is subtracted.

    Predicting the noise (the residual) leaves the network a small, zero-mean target, and a window that is
    already clean passes through nearly untouched. Dilations 1, 2, 4, 8, 16, 1 with kernel 7 see 199 samples:
    every output sample sees the whole window.
    """
    import keras
    from keras import layers

    inp = keras.Input((window, 1), name="noisy")
    x = inp
    for i, d in enumerate(dilations):
        x = layers.Conv1D(filters, kernel_size, dilation_rate=d, padding="same", activation="relu",
                          name=f"conv{i}_d{d}")(x)
    noise = layers.Conv1D(1, kernel_size, padding="same", name="noise")(x)
    out = layers.Subtract(name="denoised")([inp, noise])
    return keras.Model(inp, out, name="dilated")


def build(cfg: TrainConfig) -> Any:
    if cfg.architecture == "seed":
        return seed_model(cfg.window)
    return dilated_model(cfg.window, cfg.filters, cfg.kernel_size, cfg.dilations)
