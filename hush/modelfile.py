"""The model file: one `.keras` archive plus a `hush.json` entry inside it.

Keras writes config.json, metadata.json and model.weights.h5 into a zip; Hush adds hush.json, which Keras
ignores on load. It holds what the daemon needs to serve the model correctly and what a person needs to
trust it: see docs/model-format.md. `read_meta` checks it; the daemon refuses anything it cannot serve.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from hush import scaling
from hush.errors import InputError

FORMAT = "hush-model"
FORMAT_VERSION = 1
META_ENTRY = "hush.json"


class ModelFileError(InputError):
    """A model file the daemon cannot serve; the message says which file and why."""


def write(model: Any, path: str | Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Save a Keras model with Hush metadata, atomically; return the metadata with its id filled in."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(suffix=".keras", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        model.save(tmp)
        with zipfile.ZipFile(tmp) as zf:
            digest = hashlib.sha256(zf.read("model.weights.h5")).hexdigest()[:12]
        meta = {"format": FORMAT, "version": FORMAT_VERSION, **meta}
        meta["id"] = f"{meta.get('name', 'model')}-{digest}"
        with zipfile.ZipFile(tmp, "a") as zf:
            zf.writestr(META_ENTRY, json.dumps(meta, indent=2, sort_keys=True))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)  # mkstemp makes it private; a model file is ordinary data
        tmp.replace(path)  # a daemon reading `path` sees the old file or the new one, never half of one
    finally:
        tmp.unlink(missing_ok=True)
    return meta


def read_meta(path: str | Path) -> dict[str, Any]:
    """Read and check hush.json of a model file; raise ModelFileError saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    try:
        with zipfile.ZipFile(path) as zf:
            if META_ENTRY not in zf.namelist():
                raise ModelFileError(f"{path} has no {META_ENTRY} entry: not written by `hush train`")
            meta = json.loads(zf.read(META_ENTRY))
    except zipfile.BadZipFile:
        raise ModelFileError(f"{path} is not a .keras archive (not a zip file)") from None
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: {META_ENTRY} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: {META_ENTRY} does not describe a {FORMAT}")
    if meta.get("version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {meta.get('version')!r}; this Hush serves version {FORMAT_VERSION}"
        )
    window = meta.get("window")
    if not isinstance(window, int) or window < 1:
        raise ModelFileError(f"{path}: window must be an integer >= 1, got {window!r}")
    if meta.get("scaling") not in scaling.KINDS:
        raise ModelFileError(f"{path}: scaling must be one of {scaling.KINDS}, got {meta.get('scaling')!r}")
    if not isinstance(meta.get("id"), str):
        raise ModelFileError(f"{path}: the model has no id")
    return meta
