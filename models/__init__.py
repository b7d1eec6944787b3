"""The shipped model, installed as package data: default.keras (what `hush serve` runs when no model is named;
`make default-model` makes it: `hush train`, then fine-tunes of that by recipe/more.toml and recipe/to80db.toml),
default-report/ (the last step's training report, not installed) and recipe/ (those two configs)."""
