"""Hostile input (issue 5): 10,000 malformed messages interleaved with valid windows, through a real
daemon on loopback. Every valid window is answered, every malformed one gets exactly one error, counted by
reason, and the daemon's memory stays flat."""

from __future__ import annotations

import os
import random
from collections import Counter
from typing import Any

import msgpack
import numpy as np
import zmq

from hush import protocol
from hush.clients.subscriber import Subscriber


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def malformed(rng: random.Random, i: int) -> tuple[list[bytes], str]:
    good = {"seq": i, "samples": [0.5] * 150}
    kind = rng.randrange(12)
    if kind == 0:
        return [b"h", rng.randbytes(rng.randrange(1, 64))], "bad_msgpack"  # (or rarely valid msgpack: see below)
    if kind == 1:
        return [b"h", msgpack.packb(good)[: rng.randrange(1, 40)]], "bad_msgpack"
    if kind == 2:
        return [b"h", b"\x91" * 3000 + b"\xc0"], "bad_msgpack"  # nested 3,000 deep
    if kind == 3:
        return [b"h", msgpack.packb({**good, "samples": [1.0] * 150 * 100})], "bad_length"  # 100 windows > limit
    if kind == 4:
        return [b"h", msgpack.packb({**good, "samples": "x" * 150})], "bad_samples"
    if kind == 5:
        return [b"h", msgpack.packb({**good, "samples": [float("nan")] * 150})], "not_finite"
    if kind == 6:
        return [b"h", msgpack.packb({**good, "samples": np.full(150, np.inf).tobytes(), "dtype": "<f8"})], \
            "not_finite"
    if kind == 7:
        return [b"h", msgpack.packb({**good, "samples": b"\0" * 600, "dtype": "int32"})], "bad_dtype"
    if kind == 8:
        return [b"bad topic!", msgpack.packb(good)], "bad_topic"
    if kind == 9:
        return [b"h", msgpack.packb(good), b"extra"], "bad_frames"
    if kind == 10:
        return [b"h", msgpack.packb({**good, "seq": "one"})], "bad_seq"
    return [b"h", msgpack.packb([1, 2, 3])], "not_a_map"


def test_ten_thousand_malformed_messages(server) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(0)
    ctx = zmq.Context()
    pub = ctx.socket(zmq.XPUB)
    pub.setsockopt(zmq.SNDHWM, 0)
    pub.connect(server.input_endpoint)
    assert pub.poll(10_000)
    pub.recv()
    window = np.sin(np.linspace(0, 6, 150))
    expected: Counter[str] = Counter()
    with Subscriber(server.output_endpoint, hwm=0) as sub:
        sub.wait_ready()
        answers: set[Any] = set()
        errors: Counter[str] = Counter()

        def drain(timeout: float) -> None:
            while (msg := sub.recv(timeout)) is not None:
                if msg.is_error:
                    errors[msg.body["error"]] += 1
                else:
                    answers.add(msg.seq)
                if len(answers) == 1000 and sum(errors.values()) == 10_000:
                    return

        rss = []
        for i in range(10_000):
            frames, code = malformed(rng, i)
            if code == "bad_msgpack" and frames[1][:1] != b"\x91":
                try:  # random bytes can, rarely, be one valid msgpack value of another kind
                    obj = msgpack.unpackb(frames[1], raw=False, strict_map_key=True)
                    code = "not_a_map" if not isinstance(obj, dict) else "bad_seq"
                except Exception:
                    pass
            expected[code] += 1
            pub.send_multipart(frames)
            if i % 10 == 0:
                pub.send_multipart(protocol.encode_window("h", i // 10, window))
            if i % 2500 == 0:
                drain(0.0)
                rss.append(rss_mb())
        drain(20.0)
    pub.close(linger=0)
    ctx.term()
    assert answers == set(range(1000))
    assert errors == expected, (errors, expected)
    assert dict(server.stats.errors) == dict(expected)
    assert server.stats.windows_in == server.stats.windows_out == 1000
    assert rss[-1] - rss[1] < 50, rss  # flat: no growth with the count of bad messages
