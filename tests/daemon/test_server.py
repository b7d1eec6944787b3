"""The daemon in this process, on real loopback sockets, serving a real tiny model."""

from __future__ import annotations

import msgpack
import numpy as np
import zmq

from hush import protocol
from hush.clients.publisher import Publisher
from hush.clients.subscriber import Subscriber
from tests.conftest import serving


def collect(sub: Subscriber, n: int, timeout_s: float = 20.0) -> list[protocol.Message]:
    got: list[protocol.Message] = []
    while len(got) < n:
        msg = sub.recv(timeout_s)
        assert msg is not None, f"only {len(got)} of {n} messages arrived"
        got.append(msg)
    return got


def test_every_window_answered_in_its_form_and_units(server, tiny_runner) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    x = 50.0 + 5.0 * np.sin(np.linspace(0, 40, 150 * 12)) + rng.standard_normal(150 * 12)
    with Subscriber(server.output_endpoint, prefix="s/") as sub:
        sub.wait_ready()
        pubs = {form: Publisher(server.input_endpoint, f"s/{form}", form=form, rate=100.0)
                for form in ("array", "bin-f4", "bin-f8")}
        for pub in pubs.values():
            pub.wait_connected()
            pub.publish(x)
            pub.send(x[:300], site="north")  # a multi-window message (k = 2), with a pass-through key
        got = collect(sub, 3 * 13)
        for pub in pubs.values():
            pub.close()
    expected = tiny_runner.denoise(x.reshape(-1, 150))
    for form in ("array", "bin-f4", "bin-f8"):
        mine = sorted((m for m in got if m.topic == f"s/{form}"), key=lambda m: m.seq or 0)
        assert [m.seq for m in mine] == list(range(13))
        ys = np.stack([m.samples() for m in mine[:12]])
        tol = 1e-3 if form == "bin-f4" else 1e-6
        np.testing.assert_allclose(ys, expected, rtol=tol, atol=tol * 50)
        assert all(m.body["model"] == tiny_runner.model_id and m.body["rate"] == 100.0 for m in mine)
        assert mine[0].body["t"] < mine[1].body["t"]
        k2 = mine[12]
        assert k2.body["site"] == "north" and k2.samples().size == 300
        np.testing.assert_allclose(k2.samples().reshape(2, 150), expected[:2], rtol=tol, atol=tol * 50)
        raw = k2.body["samples"]
        if form == "array":
            assert isinstance(raw, list) and "dtype" not in k2.body
        else:
            assert isinstance(raw, bytes) and k2.body["dtype"] == {"bin-f4": "<f4", "bin-f8": "<f8"}[form]


def test_bad_messages_get_errors_and_valid_ones_keep_flowing(server) -> None:  # type: ignore[no-untyped-def]
    ctx: zmq.Context = zmq.Context.instance()
    pub = ctx.socket(zmq.XPUB)
    pub.connect(server.input_endpoint)
    assert pub.poll(10_000)
    pub.recv()  # the daemon's subscription: connected
    good = np.linspace(0, 1, 150)
    bad = [
        [b"m", b"\xc1"],
        [b"m", msgpack.packb({"seq": 1, "samples": [1.0] * 10})],
        [b"m", msgpack.packb({"seq": 2, "samples": [float("nan")] * 150})],
        [b"m", msgpack.packb({"seq": 3, "samples": good.tobytes(), "dtype": ">f8"})],
        [b"bad topic", msgpack.packb({"seq": 4, "samples": [0.0] * 150})],
        [b"m", msgpack.packb({"seq": 5, "samples": [0.0] * 150}), b"third frame"],
    ]
    with Subscriber(server.output_endpoint) as sub:
        sub.wait_ready()
        for i, frames in enumerate(bad):
            pub.send_multipart(protocol.encode_window("m", 100 + i, good))
            pub.send_multipart(frames)
        pub.send_multipart(protocol.encode_window("m", 200, good))
        got = collect(sub, 2 * len(bad) + 1)
    pub.close(linger=0)
    oks = [m.seq for m in got if not m.is_error]
    errs = [(m.topic, m.body.get("seq"), m.body["error"]) for m in got if m.is_error]
    assert sorted(o or 0 for o in oks) == [100, 101, 102, 103, 104, 105, 200]
    assert sorted(errs, key=str) == sorted([
        ("!error/m", None, "bad_msgpack"), ("!error/m", 1, "bad_length"), ("!error/m", 2, "not_finite"),
        ("!error/m", 3, "bad_dtype"), ("!error", 4, "bad_topic"), ("!error/m", 5, "bad_frames"),  # seq when readable
    ], key=str)
    assert all(m.body["detail"] for m in got if m.is_error)
    assert server.stats.errors["bad_length"] == 1 and server.stats.windows_in == 7


class FailingRunner:
    """A fake model that always fails: tests the rule that every window still gets one answer."""

    window, scaling, model_id = 150, "standardize", "failing"

    def denoise(self, x: np.ndarray) -> np.ndarray:
        raise RuntimeError("boom")


def test_a_failing_model_answers_every_window_with_an_error() -> None:
    with serving(FailingRunner(), "f") as (srv, sub, pub):
        for _ in range(5):
            pub.send(np.zeros(150))
        got = collect(sub, 5)
    assert sorted(m.body["seq"] for m in got) == [0, 1, 2, 3, 4]
    assert all(m.topic == "!error/f" and m.body["error"] == "internal" and "boom" in m.body["detail"]
               for m in got)


def test_shutdown_publishes_everything_accepted(tiny_runner) -> None:  # type: ignore[no-untyped-def]
    """With a long max_wait, windows sit in the batcher; stopping must still answer them all."""
    import time

    with serving(tiny_runner, "q", max_batch=1000, max_wait_ms=10_000) as (srv, sub, pub):
        for _ in range(20):
            pub.send(np.ones(150))
        deadline = time.monotonic() + 10
        while srv.stats.windows_in < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert srv.stats.windows_in == 20 and srv.stats.windows_out == 0
        srv.should_exit = True
        got = collect(sub, 20)
    assert sorted(m.seq for m in got) == list(range(20))  # type: ignore[type-var]


def test_the_hello_carries_the_daemons_limits(server, tiny_runner) -> None:  # type: ignore[no-untyped-def]
    with Subscriber(server.output_endpoint, prefix="x/") as sub:
        hello = sub.wait_ready()
    assert hello.pop("prefix") in ("x/", "!error/x/", "!ready")  # whichever subscription it answered first
    assert hello == {"model": tiny_runner.model_id, "window": 150, "protocol": 1,
                     "max_windows_per_message": 8, "max_message_bytes": 1_048_576, "max_extra_bytes": 4096}


def test_duplicate_and_backward_seqs_are_answered_and_not_gaps(server) -> None:  # type: ignore[no-untyped-def]
    with Subscriber(server.output_endpoint, prefix="g/") as sub, Publisher(server.input_endpoint, "g/s") as pub:
        sub.wait_ready()
        pub.wait_connected()
        for seq in (0, 1, 1, 0, 1, 2, 5):
            pub.seq = seq
            pub.send(np.ones(150))
        got = collect(sub, 7)
    assert [m.seq for m in got] == [0, 1, 1, 0, 1, 2, 5] and not any(m.is_error for m in got)
    assert server.counters()["seq_gaps"] == 2  # only 3 and 4, missing before 5
