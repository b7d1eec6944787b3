"""The shipped models, installed as package data: default.keras (what `hush serve` runs when no model is named;
`make default-model` makes it: `hush train`, then fine-tunes of that by recipe/more.toml and recipe/to80db.toml)
and keep-events.keras (the default fine-tuned by recipe/keep-events.toml on noise without impulses, for signals
whose one-sample events are real: `make keep-events-model`); default-report/ and keep-events-report/ (their last
steps' training reports, not installed) and recipe/ (those configs)."""
