"""Tooling over the daemon, the clients and the trainer; nothing in the core imports it.

Files: spawn.py (free ports, `hush serve` as a process, a daemon on a thread), load.py (the paced load
generator and the collector), model_timing.py (the model alone, timed as the daemon runs it), bench.py
(`hush bench`: model, stages, end to end), overload.py (`hush bench --overload` and `--scale-out`), soak.py
(`hush bench --soak`), streams.py (`hush bench --streams` and `--hot-stream`), ordering.py (`hush bench
--order`), bridge_check.py (each bridge end to end, scored), demo.py (`hush demo`), make_config.py,
make_demo.py and make_ecg_cases.py (how config.toml and data/ were made).
experiments/ holds the scripts behind docs/performance.md's measurements (linted, not installed).
"""
