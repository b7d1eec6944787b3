"""Hush wire protocol, version 1: the one implementation the daemon and every client use.

A message is two ZeroMQ frames: the topic (the stream id) and a msgpack map. docs/protocol.md describes
exactly what this module does; keep the two in step.

    window in:  [topic, {seq, samples, dtype?, t?, rate?, ...pass-through}]
    window out: [topic, {seq, samples (same form as in), dtype?, t?, rate?, ...pass-through, model}]
    error out:  [b"!error/" + topic, {seq?, error, detail}]

`samples` holds k x W numbers: k consecutive windows of one stream (k = 1 is the usual case). Topics that
start with "!" belong to the daemon ("!error/...", "!ready"); stream ids cannot start with "!".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np

from hush.errors import InputError

VERSION = 1
DTYPES: dict[str, np.dtype[Any]] = {"<f4": np.dtype("<f4"), "<f8": np.dtype("<f8")}
TOPIC_RE = re.compile(rb"[A-Za-z0-9._:/-]{1,128}")
ERROR_PREFIX = b"!error"
READY_TOPIC = b"!ready"

# The codes an error message can carry; docs/protocol.md lists the same.
ERROR_CODES = {
    "bad_frames": "the message must have exactly 2 frames (topic, msgpack map)",
    "bad_topic": "the topic must be 1-128 characters from [A-Za-z0-9._:/-]",
    "bad_msgpack": "the second frame is not one complete msgpack value",
    "not_a_map": "the second frame must be a msgpack map with string keys",
    "bad_seq": "seq must be an integer >= 0",
    "missing_samples": "the map has no samples",
    "bad_samples": "samples must be an array of numbers or a bin",
    "bad_dtype": 'dtype must be "<f4" or "<f8" and is required with bin samples',
    "bad_length": "samples must hold k x W values, 1 <= k <= the daemon's limit",
    "not_finite": "samples must not hold NaN or infinity",
    "bad_field": "t and rate must be numbers (rate > 0)",
    "too_large": "the pass-through keys are larger than the daemon allows",
    "overloaded": "the daemon was over capacity and dropped this message (SUB input only)",
    "internal": "the daemon failed to denoise this window",
    "lost": "hush route: the daemon holding this window went away before answering, or none was up to take it",
}


class ProtocolError(InputError):
    """A message that breaks protocol v1. `code` is one of ERROR_CODES; `detail` is one sentence."""

    def __init__(self, code: str, detail: str, topic: bytes | None = None, seq: int | None = None):
        super().__init__(f"{code}: {detail}")
        self.code, self.detail, self.topic, self.seq = code, detail, topic, seq


@dataclass
class Request:
    """One decoded input message: k windows of W samples from one stream (k = 1 usually), answered as one."""

    topic: bytes
    seq: int
    samples: np.ndarray  # float64, shape (k, W), finite
    form: str  # "array", "<f4" or "<f8": how the samples came, and so how they go back
    meta: dict[str, Any] = field(default_factory=dict)  # seq, t, rate and pass-through keys, as received
    received: float = 0.0  # time.perf_counter() when it arrived; the daemon's latency clock


_NUMBER_TYPES = {int, float}  # a boolean is not a number here, though Python's bool is an int


def _seq(obj: dict[Any, Any]) -> int | None:
    seq = obj.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 else None


def kind(value: Any) -> str:
    """What a msgpack value is, in the protocol's words (not Python's)."""
    for typ, word in ((bool, "a boolean"), (int, "an integer"), (float, "a float"), (str, "a string"),
                      (bytes, "a bin"), (list, "an array"), (dict, "a map")):
        if isinstance(value, typ):
            return word
    return "nil" if value is None else "an extension type"


def _unpack(payload: bytes) -> Any:
    """The one msgpack value of a frame; ValueError in the protocol's words when there is not exactly one."""
    try:
        return msgpack.unpackb(payload, raw=False, strict_map_key=False)
    except msgpack.ExtraData:
        raise ValueError("the frame holds more than one msgpack value (bytes follow the first)") from None
    except msgpack.StackError:
        raise ValueError("the value is nested too deep") from None
    except TypeError:  # a map or an array as a map key
        raise ValueError("a map key is a map or an array") from None
    except Exception as exc:  # msgpack raises ValueError subclasses, but also others on hostile input
        truncated = "incomplete" in str(exc)
        raise ValueError("the frame is truncated" if truncated else "the frame is not msgpack") from None


def peek_map(payload: bytes) -> dict[Any, Any] | None:
    try:
        obj = _unpack(payload)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def decode_window(
    frames: list[bytes], window: int, max_windows: int = 64, max_extra_bytes: int = 4096
) -> Request:
    """Decode and check one input message; raise ProtocolError naming the first thing wrong (and carrying
    the stream id and seq whenever they can be read, so the error reaches the sender's subscribers)."""
    if len(frames) != 2:
        topic = frames[0] if frames and TOPIC_RE.fullmatch(frames[0]) else None
        m = peek_map(frames[1]) if len(frames) > 1 else None
        raise ProtocolError("bad_frames", f"expected 2 frames (topic, map), got {len(frames)}", topic,
                            _seq(m) if m else None)
    topic, payload = frames
    if not TOPIC_RE.fullmatch(topic):
        shown = topic[:40].decode("utf-8", "replace")
        m = peek_map(payload)
        raise ProtocolError("bad_topic", f"topic {shown!r} must be 1-128 characters from [A-Za-z0-9._:/-]", None,
                            _seq(m) if m else None)
    try:
        obj = _unpack(payload)
    except ValueError as exc:
        raise ProtocolError("bad_msgpack", f"cannot decode the map frame: {exc}", topic) from None
    if not isinstance(obj, dict):
        raise ProtocolError("not_a_map", f"expected a msgpack map, got {kind(obj)}", topic)
    if not all(isinstance(k, str) for k in obj):
        bad = next(k for k in obj if not isinstance(k, str))
        raise ProtocolError("not_a_map", f"map keys must be strings, got {kind(bad)} key", topic, _seq(obj))
    seq = _seq(obj)
    if seq is None:
        v = obj.get("seq")
        got = "the map has no seq" if "seq" not in obj else f"got {kind(v)}" + (f" ({v!r})" if isinstance(
            v, int | float) else "")
        raise ProtocolError("bad_seq", f"seq must be an integer >= 0: {got}"[:200], topic)
    values, form = _samples(obj, topic, seq, window, max_windows)
    meta = _fields(obj, topic, seq, max_extra_bytes)
    return Request(topic, seq, values.reshape(-1, window), form, meta)


def _samples(obj: dict[str, Any], topic: bytes, seq: int, window: int, max_windows: int) -> tuple[np.ndarray, str]:
    """The samples as float64 (n,), and the form they came in; ProtocolError if they break the rules."""
    if "samples" not in obj:
        raise ProtocolError("missing_samples", "the map has no samples", topic, seq)
    raw, dtype_name = obj["samples"], obj.get("dtype")
    if dtype_name is not None and not (isinstance(dtype_name, str) and dtype_name in DTYPES):
        shown = repr(dtype_name) if isinstance(dtype_name, str) else kind(dtype_name)
        raise ProtocolError("bad_dtype", f'dtype must be "<f4" or "<f8", got {shown}'[:200], topic, seq)
    if isinstance(raw, bytes):
        if dtype_name is None:
            raise ProtocolError("bad_dtype", 'bin samples need dtype "<f4" or "<f8"', topic, seq)
        dtype = DTYPES[dtype_name]
        if len(raw) % dtype.itemsize:
            raise ProtocolError("bad_length", f"{len(raw)} bytes is not a whole number of {dtype_name} values",
                                topic, seq)
        values, form = np.frombuffer(raw, dtype=dtype).astype(np.float64), dtype_name
    elif isinstance(raw, list):
        if not set(map(type, raw)) <= _NUMBER_TYPES:  # msgpack gives exactly int or float for numbers
            bad = next(v for v in raw if type(v) not in _NUMBER_TYPES)
            raise ProtocolError("bad_samples", f"samples must be numbers, got {kind(bad)} among them", topic, seq)
        try:
            values = np.array(raw, dtype=np.float64) if raw else np.zeros(0)
        except OverflowError:  # an integer beyond float64
            raise ProtocolError("bad_samples", "samples must be numbers a float64 can hold", topic, seq) from None
        form = "array"
    else:
        raise ProtocolError("bad_samples", f"samples must be an array of numbers or a bin, got {kind(raw)}",
                            topic, seq)
    n = values.size
    if n == 0 or n % window or n // window > max_windows:
        raise ProtocolError(
            "bad_length", f"got {n} samples, expected k x {window} with 1 <= k <= {max_windows}", topic, seq
        )
    if not np.isfinite(values).all():
        bad_at = int(np.flatnonzero(~np.isfinite(values))[0])
        raise ProtocolError("not_finite", f"sample {bad_at} is {values[bad_at]}; samples must be finite", topic, seq)
    return values, form


def _fields(obj: dict[str, Any], topic: bytes, seq: int, max_extra_bytes: int) -> dict[str, Any]:
    """The map without its samples (returned with the answer), once t, rate and the pass-through size check."""
    for key in ("t", "rate"):
        v = obj.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
                              or (key == "rate" and v <= 0)):
            shown = repr(v) if isinstance(v, int | float) and not isinstance(v, bool) else kind(v)
            raise ProtocolError("bad_field", f"{key} must be a finite number{' > 0' if key == 'rate' else ''},"
                                f" got {shown}"[:200], topic, seq)
    meta = {k: v for k, v in obj.items() if k not in ("samples", "dtype")}
    extra = {k: v for k, v in meta.items() if k not in ("seq", "t", "rate")}
    if extra and len(msgpack.packb(extra)) > max_extra_bytes:
        raise ProtocolError("too_large", f"pass-through keys take more than {max_extra_bytes} bytes", topic, seq)
    return meta


def peek(frames: list[bytes], window: int) -> tuple[bytes | None, int | None, int]:
    """The stream id, seq and number of windows of a message, as far as they can be read, without checking
    the samples: what a daemon needs to answer and count a message it will not process (an overload drop).
    A message whose windows cannot be counted counts as one."""
    topic = frames[0] if frames and TOPIC_RE.fullmatch(frames[0]) else None
    if topic is None or len(frames) != 2:
        return topic, None, 1
    obj = peek_map(frames[1])
    if obj is None:
        return topic, None, 1
    raw, dtype = obj.get("samples"), obj.get("dtype")
    size = DTYPES[dtype].itemsize if isinstance(dtype, str) and dtype in DTYPES else 8
    n = len(raw) // size if isinstance(raw, bytes) else len(raw) if isinstance(raw, list) else 0
    return topic, _seq(obj), max(1, n // window) if n % window == 0 else 1


def encode_samples(samples: np.ndarray, form: str) -> dict[str, Any]:
    """The `samples` (and `dtype`) entries for `samples` sent in `form`."""
    flat = np.asarray(samples).reshape(-1)
    if form == "array":
        return {"samples": flat.astype(np.float64).tolist()}
    if form not in DTYPES:
        raise ValueError(f"form must be 'array', '<f4' or '<f8', got {form!r}")
    return {"samples": flat.astype(DTYPES[form]).tobytes(), "dtype": form}


def encode_window(topic: str | bytes, seq: int, samples: np.ndarray, form: str = "<f8",
                  t: float | None = None, rate: float | None = None, **extra: Any) -> list[bytes]:
    """Frames of one input message (what a sensor sends)."""
    topic_b = topic.encode() if isinstance(topic, str) else topic
    if not TOPIC_RE.fullmatch(topic_b):
        raise ValueError(f"stream id {topic!r} must be 1-128 characters from [A-Za-z0-9._:/-]")
    body: dict[str, Any] = {"seq": int(seq), **extra}
    if t is not None:
        body["t"] = float(t)
    if rate is not None:
        body["rate"] = float(rate)
    body.update(encode_samples(samples, form))
    return [topic_b, msgpack.packb(body, use_bin_type=True)]


def encode_output(win: Request, denoised: np.ndarray, model_id: str) -> list[bytes]:
    """Frames of the answer to `win`: its metadata as received, the denoised samples in its form."""
    body = dict(win.meta)
    body.update(encode_samples(denoised, win.form))
    body["model"] = model_id
    return [win.topic, msgpack.packb(body, use_bin_type=True)]


def encode_ready(hello: dict[str, Any]) -> list[bytes]:
    """Frames of the daemon's hello on !ready: {"model", "window", "protocol", "prefix"}."""
    return [READY_TOPIC, msgpack.packb(hello, use_bin_type=True)]


def encode_error(code: str, detail: str, topic: bytes | None = None, seq: int | None = None) -> list[bytes]:
    """Frames of an error message: topic !error/<stream id> (or !error when the id was unreadable)."""
    body: dict[str, Any] = {"error": code, "detail": detail}
    if seq is not None:
        body["seq"] = seq
    err_topic = ERROR_PREFIX + b"/" + topic if topic else ERROR_PREFIX
    return [err_topic, msgpack.packb(body, use_bin_type=True)]


@dataclass
class Message:
    """One output message, decoded by a client: a denoised window, an error, or the daemon's hello."""

    topic: str
    body: dict[str, Any]

    @property
    def is_error(self) -> bool:
        return self.topic.startswith("!error")

    @property
    def stream(self) -> str:
        """The stream id, also for errors (empty when the daemon could not read it)."""
        return self.topic.split("/", 1)[1] if self.is_error and "/" in self.topic else self.topic

    @property
    def seq(self) -> int | None:
        return self.body.get("seq")

    def samples(self) -> np.ndarray:
        """The samples as a float64 array of shape (n,) (n = k x W)."""
        raw = self.body["samples"]
        if isinstance(raw, bytes):
            return np.frombuffer(raw, dtype=DTYPES[self.body["dtype"]]).astype(np.float64)
        return np.asarray(raw, dtype=np.float64)


CONTROL_COMMANDS = ("reload", "stats")


def encode_control(cmd: str, **args: Any) -> bytes:
    """One control request (a REQ frame): a msgpack map {"cmd": cmd, ...args}; docs/protocol.md, "Control"."""
    if cmd not in CONTROL_COMMANDS:
        raise ValueError(f"control command must be one of {CONTROL_COMMANDS}, got {cmd!r}")
    return msgpack.packb({"cmd": cmd, **{k: v for k, v in args.items() if v is not None}})


def decode_control(frame: bytes) -> dict[str, Any]:
    """A control request or reply: a msgpack map with string keys, else ProtocolError."""
    try:
        obj = msgpack.unpackb(frame, raw=False)
    except Exception as exc:
        raise ProtocolError("bad_msgpack", f"cannot decode the control map: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("not_a_map", f"expected a msgpack map, got {type(obj).__name__}")
    return obj


def decode_message(frames: list[bytes]) -> Message:
    """Decode a message from the daemon's output (no checks beyond shape: the daemon made it)."""
    if len(frames) != 2:
        raise ProtocolError("bad_frames", f"expected 2 frames, got {len(frames)}")
    try:
        body = msgpack.unpackb(frames[1], raw=False)
    except Exception as exc:
        raise ProtocolError("bad_msgpack", f"cannot decode the map frame: {exc}") from None
    if not isinstance(body, dict):
        raise ProtocolError("not_a_map", f"expected a msgpack map, got {type(body).__name__}")
    return Message(frames[0].decode("utf-8", "replace"), body)
