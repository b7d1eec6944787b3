"""The trainer: data (data.py), networks (model.py), the run (train.py), scores and baselines (evaluate.py)."""
