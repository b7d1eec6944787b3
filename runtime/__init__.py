"""The model runtime: a Hush model file behind compiled calls, what the daemon serves with and the trainer
scores with (so `hush train` and `hush eval` report what `hush serve` will answer). The one part of Hush
that needs TensorFlow at run time; the core (hush/) and the clients do not.

Files: runner.py (padding to batch buckets, engines chosen per bucket by timing, scaling around the call),
lite.py (the TensorFlow Lite engines with XNNPACK, float32 and int8), bf16.py (the bfloat16 engine and the
check that admits a reduced-precision engine), tfenv.py (TensorFlow's threads and logging, set once).
"""
