"""The shipped model, installed as package data: default.keras (made by `hush train --out models/default.keras`,
what `hush serve` runs when no model is named) and default-report/ (its training report, not installed)."""
