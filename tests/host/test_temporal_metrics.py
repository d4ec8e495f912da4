"""The Temporal SDK's buffered metric updates folded into Prometheus families: counters summed, gauges last, histograms bucketed."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from temporalio.runtime import (
    BUFFERED_METRIC_KIND_COUNTER,
    BUFFERED_METRIC_KIND_GAUGE,
    BUFFERED_METRIC_KIND_HISTOGRAM,
    BufferedMetricKind,
    MetricBuffer,
)

from orchestrator.host.temporal_metrics import TemporalSdkCollector


@dataclass(frozen=True)
class FakeMetric:
    name: str
    kind: BufferedMetricKind
    unit: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class FakeUpdate:
    metric: FakeMetric
    value: float
    attributes: dict[str, str | int | float | bool] = field(default_factory=dict)


STARTS = FakeMetric("temporal_worker_start", BUFFERED_METRIC_KIND_COUNTER, description="workers started")
POLLERS = FakeMetric("temporal_num_pollers", BUFFERED_METRIC_KIND_GAUGE)
LATENCY = FakeMetric("temporal_request_latency", BUFFERED_METRIC_KIND_HISTOGRAM, unit="s")


def exposed(updates: list[FakeUpdate]) -> str:
    collector = TemporalSdkCollector(MetricBuffer(10))
    collector.fold(updates)  # type: ignore[arg-type]  # the protocol's shape, without a runtime
    collector.drain = lambda: None  # type: ignore[method-assign]  # no runtime behind this buffer
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode()


def test_counters_add_their_deltas_gauges_keep_the_last_value_and_histograms_count_into_buckets() -> None:
    queue = {"task_queue": "journeys", "namespace": "default"}
    text = exposed(
        [
            FakeUpdate(STARTS, 1, queue),
            FakeUpdate(STARTS, 2, queue),
            FakeUpdate(POLLERS, 5, {**queue, "poller_type": "workflow_task"}),
            FakeUpdate(POLLERS, 3, {**queue, "poller_type": "workflow_task"}),
            FakeUpdate(LATENCY, 0.02, {"operation": "PollWorkflowTaskQueue"}),
            FakeUpdate(LATENCY, 0.3, {"operation": "PollWorkflowTaskQueue"}),
            FakeUpdate(LATENCY, 100.0, {"operation": "PollWorkflowTaskQueue"}),
        ]
    )
    assert "# TYPE temporal_worker_start_total counter" in text
    assert 'temporal_worker_start_total{namespace="default",task_queue="journeys"} 3.0' in text
    assert 'temporal_num_pollers{namespace="default",poller_type="workflow_task",task_queue="journeys"} 3.0' in text
    assert 'temporal_request_latency_bucket{le="0.01",operation="PollWorkflowTaskQueue"} 0.0' in text
    assert 'temporal_request_latency_bucket{le="0.025",operation="PollWorkflowTaskQueue"} 1.0' in text
    assert 'temporal_request_latency_bucket{le="0.5",operation="PollWorkflowTaskQueue"} 2.0' in text
    assert 'temporal_request_latency_bucket{le="60.0",operation="PollWorkflowTaskQueue"} 2.0' in text
    assert 'temporal_request_latency_bucket{le="+Inf",operation="PollWorkflowTaskQueue"} 3.0' in text
    assert 'temporal_request_latency_count{operation="PollWorkflowTaskQueue"} 3.0' in text
    assert 'temporal_request_latency_sum{operation="PollWorkflowTaskQueue"} 100.32' in text


def test_one_metrics_label_sets_may_differ_in_their_keys() -> None:
    text = exposed([FakeUpdate(STARTS, 1, {"task_queue": "a"}), FakeUpdate(STARTS, 1, {"task_queue": "b", "worker_type": "x"})])
    assert 'temporal_worker_start_total{task_queue="a"} 1.0' in text
    assert 'temporal_worker_start_total{task_queue="b",worker_type="x"} 1.0' in text
