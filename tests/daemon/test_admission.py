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
