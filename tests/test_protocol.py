from __future__ import annotations

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hush import protocol
from hush.protocol import ProtocolError, decode_window, encode_error, encode_output, encode_window, peek

W = 150


def body(**kw: object) -> bytes:
    return msgpack.packb(kw, use_bin_type=True)


@pytest.mark.parametrize("form", ["array", "<f4", "<f8"])
def test_round_trip_each_form(form: str) -> None:
    x = np.linspace(-3, 1e4, 2 * W)
    frames = encode_window("pump-3/a", 7, x, form, t=1.5e9, rate=360.0, site="north")
    win = decode_window(frames, W, max_windows=4)
    assert win.topic == b"pump-3/a" and win.seq == 7 and win.form == form
    assert win.samples.shape == (2, W)
    tol = 1e-3 if form == "<f4" else 0.0
    np.testing.assert_allclose(win.samples.reshape(-1), x, rtol=tol)
    assert win.meta == {"seq": 7, "t": 1.5e9, "rate": 360.0, "site": "north"}
    out = protocol.decode_message(encode_output(win, win.samples * 2, "m-1"))
    assert out.topic == "pump-3/a" and out.body["model"] == "m-1" and out.body["site"] == "north"
    assert out.body["t"] == 1.5e9 and out.body["rate"] == 360.0 and out.seq == 7
    if form == "array":
        assert isinstance(out.body["samples"], list) and "dtype" not in out.body
    else:
        assert isinstance(out.body["samples"], bytes) and out.body["dtype"] == form
    np.testing.assert_allclose(out.samples(), 2 * win.samples.reshape(-1), rtol=tol)


def test_integers_are_numbers() -> None:
    frames = [b"s", body(seq=0, samples=list(range(W)))]
    assert decode_window(frames, W).samples[0, 5] == 5.0


BAD = [
    ("bad_frames", [b"s"]),
    ("bad_frames", [b"s", body(seq=0, samples=[0.0] * W), b"extra"]),
    ("bad_topic", [b"has space", body(seq=0, samples=[0.0] * W)]),
    ("bad_topic", [b"", body(seq=0, samples=[0.0] * W)]),
    ("bad_topic", [b"x" * 129, body(seq=0, samples=[0.0] * W)]),
    ("bad_topic", [b"!error/x", body(seq=0, samples=[0.0] * W)]),
    ("bad_msgpack", [b"s", b"\xc1garbage"]),
    ("bad_msgpack", [b"s", body(seq=0, samples=[0.0] * W)[:-3]]),
    ("bad_msgpack", [b"s", b"\x91" * 5000 + b"\xc0"]),
    ("not_a_map", [b"s", msgpack.packb([1, 2, 3])]),
    ("not_a_map", [b"s", msgpack.packb({"seq": 0, "samples": [0.0] * W, 7: "an integer key"})]),
    ("bad_seq", [b"s", body(samples=[0.0] * W)]),
    ("bad_seq", [b"s", body(seq=-1, samples=[0.0] * W)]),
    ("bad_seq", [b"s", body(seq="1", samples=[0.0] * W)]),
    ("bad_seq", [b"s", body(seq=True, samples=[0.0] * W)]),
    ("bad_seq", [b"s", body(seq=1.0, samples=[0.0] * W)]),
    ("missing_samples", [b"s", body(seq=0)]),
    ("bad_samples", [b"s", body(seq=0, samples="abc")]),
    ("bad_samples", [b"s", body(seq=0, samples=["a"] * W)]),
    ("bad_samples", [b"s", body(seq=0, samples=[[1.0]] * W)]),
    ("bad_samples", [b"s", body(seq=0, samples=[None] * W)]),
    ("bad_samples", [b"s", body(seq=0, samples=[True] + [0.5] * (W - 1))]),
    ("bad_dtype", [b"s", body(seq=0, samples=b"\0" * 8 * W)]),
    ("bad_dtype", [b"s", body(seq=0, samples=b"\0" * 8 * W, dtype=">f8")]),
    ("bad_dtype", [b"s", body(seq=0, samples=b"\0" * 2 * W, dtype="<f2")]),
    ("bad_length", [b"s", body(seq=0, samples=[0.0] * (W - 1))]),
    ("bad_length", [b"s", body(seq=0, samples=[])]),
    ("bad_length", [b"s", body(seq=0, samples=[0.0] * W * 3)]),
    ("bad_length", [b"s", body(seq=0, samples=b"\0" * (8 * W + 3), dtype="<f8")]),
    ("not_finite", [b"s", body(seq=0, samples=[0.0] * (W - 1) + [float("nan")])]),
    ("not_finite", [b"s", body(seq=0, samples=np.full(W, np.inf).tobytes(), dtype="<f8")]),
    ("bad_field", [b"s", body(seq=0, samples=[0.0] * W, rate=0)]),
    ("bad_field", [b"s", body(seq=0, samples=[0.0] * W, t="now")]),
    ("too_large", [b"s", body(seq=0, samples=[0.0] * W, note="x" * 5000)]),
]


@pytest.mark.parametrize("code,frames", BAD, ids=[f"{c}-{i}" for i, (c, _) in enumerate(BAD)])
def test_each_error_code(code: str, frames: list[bytes]) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_window(frames, W, max_windows=2, max_extra_bytes=4096)
    assert info.value.code == code
    assert info.value.detail and len(info.value.detail) <= 200


def test_every_documented_code_is_tested_or_internal() -> None:
    # internal: tests/daemon/test_server.py; overloaded: tests/daemon/test_operations.py
    assert {c for c, _ in BAD} | {"internal", "overloaded", "lost"} == set(protocol.ERROR_CODES)


def test_error_message_names_the_stream_and_seq() -> None:
    with pytest.raises(ProtocolError) as info:
        decode_window([b"pump", body(seq=4, samples=[1.0] * 3)], W)
    err = protocol.decode_message(encode_error(info.value.code, info.value.detail, info.value.topic,
                                               info.value.seq))
    assert err.topic == "!error/pump" and err.is_error and err.stream == "pump"
    assert err.body == {"error": "bad_length", "seq": 4,
                        "detail": "got 3 samples, expected k x 150 with 1 <= k <= 64"}
    unreadable = protocol.decode_message(encode_error("bad_topic", "x"))
    assert unreadable.topic == "!error" and "seq" not in unreadable.body


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=4))
def test_decoder_only_raises_protocol_errors_on_random_frames(frames: list[bytes]) -> None:
    try:
        decode_window(frames, 4)
    except ProtocolError:
        pass


values = st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | st.text(max_size=8)
                      | st.binary(max_size=40), lambda c: st.lists(c, max_size=6)
                      | st.dictionaries(st.text(max_size=5), c, max_size=4), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["seq", "samples", "dtype", "t", "rate", "x"]), values))
def test_decoder_only_raises_protocol_errors_on_random_maps(obj: dict[str, object]) -> None:
    try:
        win = decode_window([b"s", msgpack.packb(obj, use_bin_type=True)], 4)
    except ProtocolError:
        return
    assert win.samples.shape[1] == 4 and np.isfinite(win.samples).all()


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["seq", "samples", "dtype", "t", "rate", "x"]), values))
def test_peek_never_raises_and_counts_at_least_one_window(obj: dict[str, object]) -> None:
    topic, _, windows = peek([b"s", msgpack.packb(obj, use_bin_type=True)], 4)
    assert topic == b"s" and windows >= 1


def test_peek_counts_the_windows_of_a_message() -> None:
    x = np.ones(3 * 150)
    assert peek(protocol.encode_window("a/b", 7, x, "<f4"), 150) == (b"a/b", 7, 3)
    assert peek(protocol.encode_window("a/b", 8, x, "array"), 150) == (b"a/b", 8, 3)
    assert peek([b"a/b", b"\xc1"], 150) == (b"a/b", None, 1)


@pytest.mark.parametrize("frames,detail", [
    ([b"s", body(samples=[0.0] * W)], "seq must be an integer >= 0: the map has no seq"),
    ([b"s", body(seq=2.0, samples=[0.0] * W)], "seq must be an integer >= 0: got a float (2.0)"),
    ([b"s", msgpack.packb([1])], "expected a msgpack map, got an array"),
    ([b"s", msgpack.packb({"seq": 0}) + b"\x01"], "cannot decode the map frame: the frame holds more than one "
                                                   "msgpack value (bytes follow the first)"),
    ([b"s", msgpack.packb({"seq": 0, "samples": [0.0] * W})[:-2]], "cannot decode the map frame: the frame is "
                                                                    "truncated"),
    ([b"s", body(seq=0, samples=[0.0] * W, rate="fast")], "rate must be a finite number > 0, got a string"),
    ([b"s", body(seq=0, samples={"a": 1})], "samples must be an array of numbers or a bin, got a map"),
])
def test_details_use_the_protocols_words_not_pythons(frames: list[bytes], detail: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_window(frames, W)
    assert info.value.detail == detail


def test_seq_is_in_every_error_whose_map_can_be_read() -> None:
    three = [b"pump", body(seq=7, samples=[0.0] * W), b"extra"]
    with pytest.raises(ProtocolError) as info:
        decode_window(three, W)
    assert (info.value.code, info.value.topic, info.value.seq) == ("bad_frames", b"pump", 7)
    with pytest.raises(ProtocolError) as info:
        decode_window([b"bad topic", body(seq=8, samples=[0.0] * W)], W)
    assert (info.value.code, info.value.topic, info.value.seq) == ("bad_topic", None, 8)  # to bare !error
    with pytest.raises(ProtocolError) as info:
        decode_window([b"pump", msgpack.packb({"seq": 9, 1: 2})], W)
    assert (info.value.code, info.value.seq) == ("not_a_map", 9)
