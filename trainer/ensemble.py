"""`hush ensemble`: a model file that averages a trained model's answers over symmetric views of the window.

White, pink and impulsive noise, hum and wander are as likely with the window's sign reversed, and run
backwards; a network trained on windows of both signs answers the reversed window almost, never exactly, as it
answers the window. Averaging its answers to the views (sign: x and -x, the second answer negated back; time:
x and x reversed, the second answer reversed back; both: four views) keeps what they agree on and shrinks what
they do not: a self-ensemble (Timofte et al. 2016), for two or four times the model's arithmetic and no
training. Near clean it changes nothing measurable: the harm there is the same in every view. It helps only a
model that was trained on both sides of each view: the synthetic families come in both signs and their noise
both ways in time, but a recording comes one way (an ECG reversed in sign or time is not an ECG), and a model
trained on one answers a reversed view worse than the window itself (`unseen_views`). What it gains and loses
is in docs/quality.md (Self-ensembles).

The file is an ordinary Hush model (built-in layers only; time reversal is a fixed permutation applied by a
Dense layer along time), so `hush serve`, `hush eval` and `hush bench` take it as they take any other. Its
hush.json is the model's, with `self_ensemble` naming the views and a new name and id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hush import modelfile
from hush.errors import InputError

VIEWS = ("sign", "time")
AUGMENTS = {"sign": "flip", "time": "reverse"}  # the `--augment` that shows a recording's model the view


def unseen_views(meta: dict[str, Any], views: list[str] | tuple[str, ...]) -> list[str]:
    """The views a model's training never showed it: for a model trained on a recording (`data.kind` other
    than synthetic), each view whose `--augment` (flip, reverse) its training did not use."""
    data = meta.get("data") or {}
    if data.get("kind", "synthetic") == "synthetic":
        return []
    return [v for v in views if AUGMENTS[v] not in (data.get("augment") or [])]


def self_ensemble(net: Any, views: list[str] | tuple[str, ...]) -> Any:
    """A Keras model averaging `net` over the views: 1, 2 or 4 calls of it."""
    import keras
    from keras import layers

    window = net.input_shape[1]
    inp = keras.Input((window, 1), name="noisy")
    reverse = {side: layers.Dense(window, use_bias=False, trainable=False, name=f"reverse_{side}")
               for side in ("in", "out")}

    def backwards(x: Any, side: str, n: int) -> Any:
        """x reversed in time: a Dense layer along the time axis with the anti-diagonal as its kernel."""
        t = layers.Permute((2, 1), name=f"time_{side}{n}")(x)
        return layers.Permute((2, 1), name=f"back_{side}{n}")(reverse[side](t))

    answers = []
    for n, x in enumerate([inp, backwards(inp, "in", 0)] if "time" in views else [inp]):
        ys = [net(x)]
        if "sign" in views:
            negated = layers.Rescaling(-1.0, name=f"negate_in{n}")(x)
            ys.append(layers.Rescaling(-1.0, name=f"negate_out{n}")(net(negated)))
        answers += [backwards(y, "out", 2 * n + i) for i, y in enumerate(ys)] if n else ys
    out = layers.Average(name="denoised")(answers) if len(answers) > 1 else answers[0]
    model = keras.Model(inp, out, name=f"{net.name}_x{len(answers)}")
    if "time" in views:
        flip = np.eye(window, dtype="float32")[::-1]
        for dense in reverse.values():
            dense.set_weights([flip])
    return model


def write(model_path: str | Path, out: str | Path, views: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Read a Hush model file, write its self-ensemble over `views` to `out`; return the new metadata."""
    from hush.runtime.tfenv import tensorflow

    meta = modelfile.read_meta(model_path)
    if meta.get("self_ensemble"):
        raise InputError(f"{model_path} is already a self-ensemble (of {', '.join(meta['self_ensemble'])}): "
                         f"give the model it was made from")
    unknown = sorted(set(views) - set(VIEWS))
    if not views or unknown:
        raise InputError(f"views: one or both of {', '.join(VIEWS)}, got {', '.join(views) or 'none'}")
    if Path(out).resolve() == Path(model_path).resolve():
        raise InputError(f"--out {out} is the model itself: write the self-ensemble to another file")
    tensorflow()
    import keras

    net = keras.models.load_model(model_path, compile=False)
    views = [v for v in VIEWS if v in views]
    new = {k: v for k, v in meta.items() if k != "id"}  # every other field as it was, unknown ones too
    new.update(name=f"{meta.get('name', 'model')}-{'-'.join(views)}", self_ensemble=views, ensemble_of=meta["id"])
    return modelfile.write(self_ensemble(net, views), out, new)
