"""Hush: a streaming, real-time denoising daemon for 1-D sensor signals. This package is the shared core:
what the daemon, the trainer and the clients all stand on, importing none of them.

Files: protocol.py (the wire format, v1: encode/decode of windows, answers, errors, hellos, control maps),
config.py (typed settings from config.toml), modelfile.py (the .keras file and its hush.json), scaling.py
(per-window scaling and its inverse), samples.py (reading .npy/.csv/stdin samples), stitch.py (overlap-add
of windows back into a stream), paths.py (the shipped model and demo files), errors.py (the errors a user
can act on), faults.py (the fault-injection hook tests use). None of it needs TensorFlow.

Beside it, installed as hush.*: runtime/ (the model behind compiled calls, for the daemon and the trainer),
daemon/, trainer/, clients/ (the clients import only this core), cli/ (the `hush` command) and tools/
(benchmarks, the demo, test helpers)."""

__version__ = "0.1.0"
