from __future__ import annotations

import pytest

from hush.daemon.batcher import Batcher


def test_flushes_when_full_before_the_deadline() -> None:
    b: Batcher[int] = Batcher(max_batch=3, max_wait_s=1.0)
    b.add(1, now=0.0)
    b.add(2, now=0.1)
    assert not b.ready(0.2) and b.take(0.2) == []
    b.add(3, now=0.2)
    assert b.ready(0.2) and b.take(0.2) == [1, 2, 3]
    assert len(b) == 0 and b.deadline() is None


def test_flushes_at_the_deadline_counted_from_the_first_item() -> None:
    b: Batcher[str] = Batcher(max_batch=100, max_wait_s=0.005)
    b.add("a", now=10.0)
    b.add("b", now=10.004)
    assert b.deadline() == pytest.approx(10.005)
    assert b.take(10.0049) == []
    assert b.take(10.005) == ["a", "b"]
    b.add("c", now=11.0)  # a new batch: a new clock
    assert b.deadline() == pytest.approx(11.005)


def test_multi_window_items_count_by_windows_and_are_never_split() -> None:
    b: Batcher[str] = Batcher(max_batch=4, max_wait_s=1.0)
    b.add("k3", now=0.0, windows=3)
    assert len(b) == 3 and not b.ready(0.0)
    b.add("k2", now=0.5, windows=2)
    assert len(b) == 5 and b.take(0.5) == ["k3"]  # 3 + 2 > 4: k2 waits for the next batch
    assert len(b) == 2 and b.deadline() == pytest.approx(1.5)  # its own clock, started when it came
    b.add("k9", now=0.6, windows=9)
    assert b.take(0.6) == ["k2"]  # the oldest first
    assert b.take(0.6) == ["k9"]  # a single item larger than max_batch still goes, whole


def test_take_hands_out_at_most_max_batch() -> None:
    b: Batcher[int] = Batcher(max_batch=4, max_wait_s=0.0)
    for i in range(10):
        b.add(i, now=float(i))
    assert b.take(10.0) == [0, 1, 2, 3] and b.take(10.0) == [4, 5, 6, 7] and b.take(10.0) == [8, 9]
    assert b.take(10.0) == [] and b.deadline() is None


def test_zero_wait_flushes_every_item_and_force_takes_anything() -> None:
    b: Batcher[int] = Batcher(max_batch=8, max_wait_s=0.0)
    b.add(1, now=5.0)
    assert b.take(5.0) == [1]
    slow: Batcher[int] = Batcher(max_batch=8, max_wait_s=60.0)
    slow.add(1, now=0.0)
    assert slow.take(0.0) == [] and slow.take(0.0, force=True) == [1]
    assert slow.take(0.0, force=True) == []


@pytest.mark.parametrize("args,msg", [((0, 1.0), "max_batch must be an integer >= 1, got 0"),
                                      ((1, -1.0), "max_wait_s must be >= 0, got -1.0")])
def test_bad_settings(args: tuple[int, float], msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        Batcher(*args)


def test_streams_are_taken_in_turn_each_in_its_own_order() -> None:
    """A stream with a backlog and two with one item each: a batch takes the streams in turn, and the ring
    goes on from where the last batch stopped; each stream's items keep their order."""
    b: Batcher[str] = Batcher(max_batch=3, max_wait_s=0.0)
    for i in range(5):
        b.add(f"hot{i}", now=0.0, stream="hot")
    b.add("a0", now=0.1, stream="a")
    b.add("b0", now=0.2, stream="b")
    b.add("a1", now=0.3, stream="a")
    assert b.windows_of() == {"hot": 5, "a": 2, "b": 1}
    assert b.take(1.0) == ["hot0", "a0", "b0"]
    assert b.take(1.0) == ["hot1", "a1", "hot2"]
    assert b.deadline() == 0.0  # hot3 has waited since 0.0
    assert b.pop_newest("hot") == ("hot4", 1) and b.take(1.0) == ["hot3"]
    assert len(b) == 0 and b.windows_of() == {} and b.deadline() is None


def test_the_stream_with_the_most_waiting_is_known_as_items_come_and_go() -> None:
    b: Batcher[str] = Batcher(max_batch=2, max_wait_s=0.0)
    assert b.most() is None
    b.add("a0", now=0.0, stream="a")
    b.add("b0", now=0.0, stream="b", windows=3)
    assert b.most() == ("b", 3)
    b.add("a1", now=0.0, stream="a", windows=3)
    assert b.most() == ("a", 4)
    assert b.pop_newest("a") == ("a1", 3) and b.most() == ("b", 3)
    assert b.take(0.0) == ["a0"]  # b0's three windows would pass max_batch 2 after a0: next batch
    assert b.take(0.0) == ["b0"] and b.most() is None
    for i in range(5):
        b.add(f"a{i}", now=1.0, stream="a")
    b.add("c0", now=1.0, stream="c", windows=3)
    assert b.most() == ("a", 5) and b.take(1.0) == ["a0"]  # c0's three windows would pass max_batch 2
    assert b.most() == ("a", 4)  # still the most after losing one


def test_streams_of_equal_counts_are_never_compared() -> None:
    """Stream ids of different types (None, bytes) with equal counts: the heap breaks ties without them."""
    b: Batcher[str] = Batcher(max_batch=4, max_wait_s=0.0)
    for stream in (None, b"x", b"y", None, b"x"):
        b.add("w", now=0.0, stream=stream)
    assert b.take(0.0) == ["w", "w", "w", "w"] and b.most() in ((None, 1), (b"x", 1))
