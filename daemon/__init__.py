"""The daemon (`hush serve`). Files: server.py (lifecycle, signals, reload, control, and the I/O thread that
reads and decodes input), admission.py (the queue's rules: limit, drops, age; pure, clock-injected),
batcher.py (the micro-batching rule; pure, clock-injected), pipeline.py (the model workers and the sender
thread, what passes between them, and the watchdog over them), streams.py (per-stream state, bounded: seq
tracking and counters), stats.py (counters and the summary line), metrics.py (Prometheus /metrics),
router.py (`hush route`: several daemons behind one input, each stream kept on one daemon)."""
