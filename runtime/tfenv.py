"""Import TensorFlow quietly and once. Everything that needs TensorFlow imports it from here, late, so
that clients and `--help` never pay the seconds it takes."""

from __future__ import annotations

import os
from typing import Any


def tensorflow(intra_op_threads: int = 0, inter_op_threads: int = 0) -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of logs
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import tensorflow as tf

    # Thread pools can only be sized before TensorFlow's runtime starts; later calls raise, and then the
    # pools keep the sizes they have (a second Runner in one process, as in tests).
    try:
        if intra_op_threads:
            tf.config.threading.set_intra_op_parallelism_threads(intra_op_threads)
        if inter_op_threads:
            tf.config.threading.set_inter_op_parallelism_threads(inter_op_threads)
    except RuntimeError:
        pass
    return tf
