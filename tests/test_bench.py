"""`hush bench`'s parts: the load generator and subscriber against a real daemon, and the rules that turn
runs into the issue's ratios. Behaviour only: no timing is asserted."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hush.tools import bench


@pytest.mark.parametrize("k", [1, 2])
def test_offered_load_counts_every_window_back(server: Any, k: int) -> None:
    r = bench.offered_load(server.input_endpoint, server.output_endpoint, 400.0, 0.5, k)
    assert r["sent"] == 200 and r["received"] == 200 and r["lost"] == 0 and r["k"] == k
    assert 0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"] and r["achieved_windows_per_s"] > 0
    assert server.counters()["windows_out"] >= 200


def test_the_bare_forwarder_passes_every_window_through_and_its_cost_is_counted() -> None:
    with bench.forwarder() as (inp, out, pid):
        r = bench.offered_load(inp, out, 400.0, 0.5, 1)
        assert r["sent"] == 200 and r["received"] == 200 and r["lost"] == 0
        assert 0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"] and r["clients_cpu_s"] > 0
        # 3,000 messages a second for a second: still every one back, and the CPU it took counted
        cost = bench.transport_cost(inp, out, pid, 3000.0, 1.0)
    assert cost is not None and cost["received"] == 3000 and cost["lost"] == 0
    assert cost["cpu_us_per_message"] > cost["clients_cpu_us_per_message"] > 0


def test_daemon_stages_times_each_stage() -> None:
    stages = bench.daemon_stages(300)
    assert set(stages) == {"send", "receive", "decode", "batch + scale", "encode"}
    assert all(v > 0 and math.isfinite(v) for v in stages.values())


def _run(offered: float, k: int, lost: int = 0, p99: float = 5.0, achieved: float | None = None) -> dict[str, float]:
    return {"offered_windows_per_s": offered, "k": k, "lost": lost, "p99_ms": p99, "sent": 100, "received": 100,
            "achieved_windows_per_s": offered if achieved is None else achieved, "p50_ms": 1.0, "max_ms": p99}


def test_summarize_takes_the_best_passing_load_and_reports_the_first_loss() -> None:
    result: dict[str, Any] = {
        "model_alone": {"batched_windows_per_s": 10_000.0, "predict_windows_per_s": 20.0, "b1_ms": 0.5,
                        "b1_paced_p99_ms": 1.0},
        "runs": [_run(200, 1, p99=2.0), _run(200, 1, p99=1.0), _run(200, 1, p99=9.0),  # the median counts
                 _run(6000, 1), _run(7000, 1, lost=3), _run(8000, 1),
                 _run(9000, 1, p99=300.0),             # too slow to count
                 _run(9500, 1, achieved=8000.0),       # fell behind what was offered
                 _run(8000, 8), _run(9000, 8)],
    }
    bench.summarize(result)
    assert result["sustained_windows_per_s"] == {"k1": 8000.0, "k8": 9000.0}
    assert result["first_loss_windows_per_s"] == {"k1": 7000.0, "k8": None}
    ratios = result["ratios"]
    assert ratios["sustained_k1_over_model_batched"] == pytest.approx(0.8)
    assert ratios["sustained_k8_over_model_batched"] == pytest.approx(0.9)
    assert ratios["sustained_best_over_predict"] == pytest.approx(450.0)
    assert ratios["p99_at_200_over_model_b1"] == pytest.approx(4.0)
    assert ratios["p99_at_200_over_model_b1_paced_p99"] == pytest.approx(2.0)
    text = bench.table({**result, "max_batch": 64, "daemon_stages_us": {"decode": 5.0}})
    assert "7,000 (k=1), - (k=8)" in text and "0.80 (k=1), 0.90 (k=8)" in text
    assert "transport alone" not in text
    result["transport_floor"] = {"p50_ms": 0.5, "p99_ms": 1.0}  # 2.0 ms end to end: 1.0 above, 2 calls of 0.5
    bench.summarize(result)
    assert result["ratios"]["p99_at_200_above_transport_over_model_b1"] == pytest.approx(2.0)
    assert "2.00 batch-1 calls" in bench.table({**result, "max_batch": 64, "daemon_stages_us": {"decode": 5.0}})


def test_summarize_bounds_one_window_messages_by_the_cores_the_model_and_the_transport_need() -> None:
    result: dict[str, Any] = {
        "cores": 2,
        "model_alone": {"batched_windows_per_s": 10_000.0, "batched_cpu_us_per_window": 160.0,
                        "predict_windows_per_s": 20.0, "b1_ms": 0.5, "b1_paced_p99_ms": 1.0},
        "runs": [_run(200, 1), _run(7000, 1), _run(9000, 8)],
        "transport_cost": {"rate": 8000.0, "received": 1, "lost": 0, "cpu_us_per_message": 40.0,
                           "clients_cpu_us_per_message": 20.0},
    }
    bench.summarize(result)
    # 2 cores / (160 + 40) us = 10,000 windows/s: 1.0 of the model's own rate
    assert result["k1_ceiling_windows_per_s"] == pytest.approx(10_000.0)
    assert result["ratios"]["k1_ceiling_over_model_batched"] == pytest.approx(1.0)
    # at 0.8 of 10,000: 250 us of CPU per message in all, 200 taken by the model and the transport
    assert result["k1_budget_us_at_goal"] == pytest.approx(50.0)
    stages = {"receive": 3.0, "decode": 6.0, "batch + scale": 1.0, "encode": 2.0, "send": 3.0}
    text = bench.table({**result, "max_batch": 64, "daemon_stages_us": stages})
    assert "k=1 ceiling on these cores" in text and "50.0 us CPU per message" in text and "take 9.0" in text


def test_order_stats_counts_late_windows_and_the_reorder_wait() -> None:
    import msgpack
    import numpy as np

    from hush.tools.ordering import order_stats

    # Two streams; message i is stream i % 2, seq i // 2, sent at i ms. Stream 0's seq 1 (message 2) comes
    # after its seq 2 (message 4): one late window, and seq 2 waits 5 ms in a reorder buffer for it.
    sent = np.arange(6) / 1000
    def arrival(i: int, at_ms: float) -> tuple[float, bytes, bytes]:
        return at_ms / 1000, f"order/s{i % 2}".encode(), msgpack.packb({"seq": i // 2})
    arrivals = [arrival(0, 1), arrival(1, 2), arrival(3, 4), arrival(4, 5), arrival(2, 10), arrival(5, 6)]
    stats = order_stats(arrivals, sent, streams=2)
    assert stats["answered"] == 6
    assert stats["out_of_order"] == 1 / 6
    assert stats["reorder_wait_max_ms"] == 5.0


def test_streams_tally_counts_each_groups_answers_refusals_and_missing() -> None:
    """`hush bench --streams/--hot-stream` scoring: answers and `overloaded` replies are matched to the
    message they answer by stream and seq; what never came back is missing; other groups are ignored."""
    import msgpack
    import numpy as np

    from hush.tools import load
    from hush.tools.streams import _tally

    spec = load.Load("tcp://127.0.0.1:1", [(10.0, 0.6)], streams=3, prefix="quiet/")  # messages 0..5
    sent = np.arange(6) * 0.1

    def body(seq: int) -> bytes:
        return bytes(msgpack.packb({"seq": seq}))

    arrivals = [(0.05, b"quiet/s0", body(0)), (0.2, b"quiet/s1", body(0)), (0.9, b"!error/quiet/s2", body(0)),
                (0.45, b"quiet/s0", body(1)), (0.6, b"hot/s0", body(0)), (0.6, b"!error/hot/s0", body(1))]
    t = _tally(spec, sent, arrivals)
    assert (t["sent"], t["answered"], t["overloaded"], t["missing"], t["streams_refused"]) == (6, 3, 1, 2, 1)
    assert t["p50_ms"] == pytest.approx(100.0) and t["p99_ms"] == pytest.approx(149.0, rel=0.01)


@pytest.mark.parametrize(("flags", "float32", "int8", "bf16"), [
    ("fpu sse2 avx avx2 fma", 32, 128, None),  # AVX2 only (an AMD EPYC here): no bfloat16 arithmetic
    ("avx2 fma avx512f avx512_bf16 avx512_vnni", 64, 256, 128),
    ("avx2 fma avx512f avx512_bf16 amx_bf16 amx_int8 amx_tile", 64, 2048, 1024),
    ("sse2 sse4_2", 16, 64, None),
])
def test_peak_follows_the_cores_vector_units(flags: str, float32: int, int8: int, bf16: int | None) -> None:
    from hush.tools.model_timing import peak_gflops

    cpuinfo = f"processor\t: 0\ncpu MHz\t\t: 2000.000\nflags\t\t: {flags}\n\nprocessor\t: 1\ncpu MHz\t\t: 2000.000\n"
    peak = peak_gflops(2, cpuinfo)  # 2 cores at 2 GHz: 4 G cycles a second
    assert peak["float32"] == float32 * 4 and peak["int8"] == int8 * 4 and peak.get("bf16") == (bf16 and bf16 * 4)
    assert peak_gflops(2, "no clock here") == {}
