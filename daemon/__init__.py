"""The daemon: server lifecycle (server.py), micro-batching (batcher.py), the model runner (runner.py)."""
