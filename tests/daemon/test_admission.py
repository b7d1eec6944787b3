"""The admission rules alone (daemon/admission.py): a fake clock, no sockets, no threads."""

from __future__ import annotations

from hush.daemon.admission import Admission, Rules


def test_sub_input_refuses_what_would_pass_the_limit_and_reads_nothing_more_while_full() -> None:
    q: Admission[str] = Admission(Rules(max_batch=4, max_wait_s=0.0, limit=5, drop=True))
    assert q.admit("a", 3, now=0.0) and q.admit("b", 2, now=0.0)
    assert q.full() and not q.has_room()
    assert not q.admit("c", 1, now=0.0)  # would make 6 > 5: refused, not queued
    assert len(q) == 5
    batch, stale = q.take(now=0.0)
    assert batch == ["a"] and stale == [] and not q.full()  # "b" would make 5 > max_batch 4: next batch
    assert q.admit("c", 1, now=0.1)


def test_a_message_larger_than_the_room_left_is_refused_whole() -> None:
    q: Admission[str] = Admission(Rules(max_batch=8, max_wait_s=1.0, limit=8, drop=True))
    assert q.admit("a", 6, now=0.0)
    assert not q.admit("k8", 3, now=0.0) and q.admit("k2", 2, now=0.0)


def test_pull_input_never_refuses_and_asks_the_reader_to_wait() -> None:
    q: Admission[str] = Admission(Rules(max_batch=2, max_wait_s=0.0, limit=2, drop=False, max_age_s=0.0))
    assert all(q.admit(x, 1, now=0.0) for x in "abcd")
    assert not q.has_room() and not q.full()  # full() is the SUB rule: PULL input is held back instead
    assert q.take(now=100.0) == (["a", "b"], [])  # no age limit: late but run


def test_too_old_messages_are_handed_back_as_stale_oldest_first() -> None:
    q: Admission[str] = Admission(Rules(max_batch=4, max_wait_s=0.0, limit=100, drop=True, max_age_s=1.0))
    q.admit("old", 1, now=0.0)
    q.admit("older-than-limit-too", 1, now=0.4)
    q.admit("fresh", 1, now=1.0)
    batch, stale = q.take(now=1.5)
    assert batch == ["fresh"]
    assert [item for item, _ in stale] == ["old", "older-than-limit-too"]
    assert [round(waited, 6) for _, waited in stale] == [1.5, 1.1]


def test_batches_form_by_the_batcher_rule_and_force_empties_the_queue() -> None:
    q: Admission[str] = Admission(Rules(max_batch=4, max_wait_s=0.01, limit=100, drop=True))
    q.admit("a", 1, now=0.0)
    assert q.take(now=0.005) == ([], []) and q.deadline() == 0.01
    assert q.take(now=0.005, force=True) == (["a"], [])
    assert q.deadline() is None and len(q) == 0


def test_at_the_limit_the_stream_holding_the_most_gives_way() -> None:
    """Longest-queue drop: a hot stream fills the queue; a quiet stream's message still gets in, and the hot
    stream's newest message is pushed out for it; the hot stream's own next message is refused."""
    q: Admission[str] = Admission(Rules(max_batch=4, max_wait_s=1.0, limit=6, drop=True))
    for i in range(6):
        assert q.admit(f"hot{i}", 1, now=0.0, stream=b"hot")
    assert q.refuses(b"hot", 1) and not q.refuses(b"quiet", 1)
    assert not q.admit("hot6", 1, now=0.0, stream=b"hot") and q.evicted == []
    assert q.admit("quiet0", 1, now=0.0, stream=b"quiet")
    assert q.evicted == ["hot5"] and len(q) == 6 and q.waiting(b"hot") == 5 and q.waiting(b"quiet") == 1
    q.evicted.clear()
    assert q.admit("quiet1", 2, now=0.0, stream=b"quiet")  # two windows: two of the hog's pushed out
    assert q.evicted == ["hot4", "hot3"] and q.waiting(b"hot") == 3 and q.waiting(b"quiet") == 3
    q.evicted.clear()
    assert not q.admit("quiet2", 1, now=0.0, stream=b"quiet")  # 4 > 3: quiet would become the hog
    # The streams in turn, each oldest first; quiet1's two windows would pass max_batch 4: the next batch.
    assert q.take(now=1.0) == (["hot0", "quiet0", "hot1"], [])
    assert q.waiting(b"hot") == 1 and q.waiting(b"quiet") == 2


def test_many_quiet_streams_lose_nothing_to_one_hot_one() -> None:
    """500 streams of one window each keep coming while one stream sends three times what is taken: every
    quiet message is admitted, the hot stream alone is refused or pushed out."""
    q: Admission[str] = Admission(Rules(max_batch=64, max_wait_s=0.0, limit=256, drop=True))
    refused: dict[str, int] = {"hot": 0, "quiet": 0}
    now = 0.0
    for step in range(200):
        for _ in range(3 * 64):
            if not q.admit("hot", 1, now, stream=b"hot"):
                refused["hot"] += 1
        for s in range(step % 5, 500, 5):  # 100 quiet streams a step, each of the 500 every 5th step
            if not q.admit(f"q{s}", 1, now, stream=f"q{s}".encode()):
                refused["quiet"] += 1
        refused["hot"] += sum(1 for x in q.evicted if x == "hot")
        assert all(x == "hot" for x in q.evicted)
        q.evicted.clear()
        q.take(now)
        q.take(now)  # two batches per step: 128 windows taken while 192 + 100 arrive
        now += 0.01
    assert refused["quiet"] == 0 and refused["hot"] > 0
