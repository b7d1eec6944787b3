"""Prometheus metrics, read from the daemon's Stats when scraped: nothing is added to the hot path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)

from hush.daemon.stats import BATCH_BUCKETS, LATENCY_BUCKETS_S

if TYPE_CHECKING:
    from hush.daemon.server import Server


class StatsCollector:
    def __init__(self, server: Server):
        self.server = server

    def collect(self) -> Iterator[Metric]:
        srv, s = self.server, self.server.stats
        yield CounterMetricFamily("hush_messages_received", "Messages read from the input socket", s.received)
        yield CounterMetricFamily("hush_windows_in", "Windows accepted", s.windows_in)
        yield CounterMetricFamily("hush_windows_out", "Windows answered denoised", s.windows_out)
        yield _labelled("hush_errors", "Messages answered with an error, by code", "code", s.errors)
        n = srv.config.metrics_streams  # a label per stream would be a series per stream per scrape
        yield _labelled("hush_windows_dropped", "Windows dropped under overload (largest streams)", "stream",
                        s.dropped.top(n))
        yield _labelled("hush_seq_gap_windows", "Windows missing between seqs (largest streams)", "stream",
                        s.seq_gaps.top(n))
        yield _labelled("hush_reloads", "Model reloads", "result", s.reloads)
        yield CounterMetricFamily("hush_messages_unsent", "Answers or errors ZeroMQ would not take (logged)",
                                  s.unsent)
        yield CounterMetricFamily("hush_workers_abandoned", "Model workers stuck past batch_timeout_s, replaced",
                                  s.abandoned)
        yield GaugeMetricFamily("hush_queue_windows", "Windows waiting for the model",
                                len(srv.handoff.queue) if srv.handoff else 0)
        yield GaugeMetricFamily("hush_ready", "1 when both sockets are up and the model is warm",
                                1 if srv.ready.is_set() and not srv.should_exit else 0)
        runner = srv.handoff.runner if srv.handoff else srv.runner
        if runner is not None:
            yield InfoMetricFamily("hush_model", "The model being served",
                                   value={"id": runner.model_id, "window": str(runner.window)})
        yield _histogram("hush_latency_seconds", "Receive-to-send time per message", LATENCY_BUCKETS_S,
                         s.latency_hist, s.latency_sum_s)
        yield _histogram("hush_batch_windows", "Windows per model call", BATCH_BUCKETS, s.batch_hist,
                         float(s.batch_windows))


def _labelled(name: str, doc: str, label: str, counts: Any) -> Metric:
    family = CounterMetricFamily(name, doc, labels=[label])
    for key, n in sorted(counts.items()):
        family.add_metric([key], n)
    return family


def _histogram(name: str, doc: str, bounds: tuple[float, ...], counts: Any, total: float) -> Metric:
    cumulative = counts.cumsum()
    buckets = [(str(b), int(c)) for b, c in zip(bounds, cumulative[:-1], strict=True)]
    buckets.append(("+Inf", int(cumulative[-1])))
    return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=total)


def serve_metrics(port: int, server: Server) -> Any:
    """Serve /metrics on 127.0.0.1:port; the returned object's shutdown() stops it."""
    from prometheus_client import start_http_server

    registry = CollectorRegistry()
    registry.register(StatsCollector(server))  # type: ignore[arg-type]
    httpd, _thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    return httpd
