"""Reading samples: a whole file (.npy, .csv, .txt) or a live text stream (stdin), one column of numbers."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from hush.errors import InputError


class SampleError(InputError):
    """Input that is not a column of finite numbers; the message says where."""


def _column_index(header: list[str], column: str, where: str) -> int:
    if column.isdigit():
        return int(column)
    if column in header:
        return header.index(column)
    raise SampleError(f"{where}: no column {column!r}; the header has {', '.join(header)}")


def iter_text(lines: Iterable[str], column: str = "0", where: str = "stdin",
              on_bad: Callable[[SampleError], None] | None = None) -> Iterator[float]:
    """Numbers from text lines: one number per line, or CSV with `column` (a 0-based index or a header
    name; empty: the file must have one column, and several are an error rather than a guess). Blank lines
    and lines starting with '#' are skipped; a first line that is not numeric is a header. Anything else that
    is not a finite number is a SampleError naming the line: raised, or with `on_bad` given, passed to it and
    the line skipped (a live sensor pipe should outlive one garbled line)."""
    index: int | None = int(column) if column.isdigit() else None
    for lineno, row in enumerate(csv.reader(line for line in lines), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if column == "" and index is None:
            if len(row) > 1:
                raise SampleError(f"{where}: {len(row)} columns ({', '.join(c.strip() for c in row)}); say which "
                                  "one to read with --column (a header name or a 0-based index)")
            index = 0
            if not _is_number(row[0]):
                continue  # a header
        if index is None or (lineno == 1 and not _is_number(row[min(index, len(row) - 1)])):
            index = _column_index([c.strip() for c in row], column, where)
            continue
        value, bad = _cell(row, index, f"{where} line {lineno}")
        if bad is None:
            yield value
        elif on_bad is None:
            raise bad
        else:
            on_bad(bad)


def _cell(row: list[str], index: int, where: str) -> tuple[float, SampleError | None]:
    if index >= len(row):
        return 0.0, SampleError(f"{where}: no column {index} in {len(row)} columns")
    cell = row[index].strip()
    try:
        value = float(cell)
    except ValueError:
        return 0.0, SampleError(f"{where}: {cell!r} is not a number")
    if not math.isfinite(value):
        return 0.0, SampleError(f"{where}: {cell!r} is not finite")
    return value, None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def load_samples(path: str | Path, column: str = "", on_bad: Callable[[SampleError], None] | None = None
                 ) -> np.ndarray:
    """A 1-D float64 array from a .npy file (1-D) or a .csv/.txt file (see iter_text, and its `on_bad`)."""
    path = Path(path)
    if not path.is_file():
        raise SampleError(f"file not found: {path}")
    if path.suffix == ".npy":
        try:
            x = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise SampleError(f"{path}: not a readable .npy array: {exc}") from None
        if x.ndim != 1 or x.dtype.kind not in "iuf":
            raise SampleError(f"{path}: expected a 1-D numeric array, got {x.dtype} of shape {x.shape}")
        x = x.astype(np.float64)
        if not np.isfinite(x).all():
            raise SampleError(f"{path}: sample {int(np.flatnonzero(~np.isfinite(x))[0])} is not finite")
        return x
    if path.suffix not in (".csv", ".txt"):
        raise SampleError(f"{path}: expected a .npy, .csv or .txt file, got {path.suffix!r}")
    with open(path, newline="") as fh:
        return np.fromiter(iter_text(fh, column, str(path), on_bad), dtype=np.float64)


def cut_windows(x: np.ndarray, window: int, hop: int) -> np.ndarray:
    """Windows of `window` samples every `hop` samples: shape (n, window), a copy."""
    if x.size < window:
        raise SampleError(f"the signal has {x.size} samples, fewer than one window of {window}")
    starts = np.arange(0, x.size - window + 1, hop)
    return x[starts[:, None] + np.arange(window)]
