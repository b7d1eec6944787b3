"""A client written from docs/protocol.md alone: only zmq, msgpack and numpy, no Hush code."""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np
import zmq


def test_client_from_the_protocol_document(server) -> None:  # type: ignore[no-untyped-def]
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.connect(server.output_endpoint)
    for prefix in (b"pump-3", b"!error/pump-3", b"!ready"):
        sub.setsockopt(zmq.SUBSCRIBE, prefix)
    pub = ctx.socket(zmq.XPUB)
    pub.connect(server.input_endpoint)
    assert pub.poll(10_000), "the daemon never subscribed"
    assert pub.recv()[:1] == b"\x01"
    while True:
        assert sub.poll(10_000), "no !ready hello"
        topic, body = sub.recv_multipart()
        if topic == b"!ready":
            hello = msgpack.unpackb(body)
            break
    w = hello["window"]
    rng = np.random.default_rng(0)
    x = 1000 + 30 * np.sin(np.linspace(0, 6, w)) + 3 * rng.standard_normal(w)
    sent = {
        0: [b"pump-3", msgpack.packb({"seq": 0, "samples": x.tolist(), "t": 5.0, "rate": 50, "unit": "kPa"})],
        1: [b"pump-3", msgpack.packb({"seq": 1, "samples": x.astype("<f4").tobytes(), "dtype": "<f4"})],
        2: [b"pump-3", msgpack.packb({"seq": 2, "samples": x.astype("<f8").tobytes(), "dtype": "<f8"})],
        3: [b"pump-3", msgpack.packb({"seq": 3, "samples": x[:100].tolist()})],       # wrong length
        4: [b"pump-3", msgpack.packb({"seq": 4, "samples": [float("inf")] * w})],   # not finite
        5: [b"pump-3", b"\x85\xa3seq"],                                            # truncated msgpack
        6: [b"pump-3", msgpack.packb({"seq": 6, "samples": np.tile(x, 2).tolist()})],  # k = 2 windows
    }
    for frames in sent.values():
        pub.send_multipart(frames)
    replies: list[Any] = []
    while len(replies) < len(sent):
        assert sub.poll(20_000), f"only {len(replies)} replies"
        topic, body = sub.recv_multipart()
        if topic == b"!ready":
            continue
        replies.append((topic, msgpack.unpackb(body)))
    ok = {r["seq"]: r for t, r in replies if t == b"pump-3"}
    errors = sorted((r.get("seq", -1), r["error"]) for t, r in replies if t == b"!error/pump-3")
    assert sorted(ok) == [0, 1, 2, 6]
    assert errors == [(-1, "bad_msgpack"), (3, "bad_length"), (4, "not_finite")]
    assert isinstance(ok[0]["samples"], list) and len(ok[0]["samples"]) == w
    assert ok[0]["t"] == 5.0 and ok[0]["rate"] == 50 and ok[0]["unit"] == "kPa" and ok[0]["model"]
    assert ok[1]["dtype"] == "<f4" and len(ok[1]["samples"]) == 4 * w
    assert ok[2]["dtype"] == "<f8" and len(ok[2]["samples"]) == 8 * w
    assert len(ok[6]["samples"]) == 2 * w
    y0 = np.asarray(ok[0]["samples"])
    y1 = np.frombuffer(ok[1]["samples"], "<f4")
    y2 = np.frombuffer(ok[2]["samples"], "<f8")
    # In the input's units: near 1000, closer to the clean curve than the noise would allow otherwise.
    assert abs(y0.mean() - 1000) < 5 and np.allclose(y0, y2) and np.allclose(y1, y2, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(ok[6]["samples"]).reshape(2, w), [y0, y0], rtol=1e-5)
    pub.close(linger=0)
    sub.close(linger=0)
    ctx.term()
