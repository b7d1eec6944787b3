"""The trainer: training families (data.py), held-out families (heldout.py), noise (noise.py), networks and
losses (model.py), self-supervision for --noisy (selfsup.py), the run (train.py), Ctrl-C while it trains
(ctrl_c.py), malloc kept from trimming after every step (heap.py), scores and baselines (evaluate.py), `hush
eval` (scorecard.py), `hush ensemble` (ensemble.py)."""
