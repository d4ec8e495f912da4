"""The Temporal SDK's own metrics (task latencies, pollers, cache, failures), served on the process's `/metrics`.

The SDK can run a Prometheus exporter of its own (`PrometheusConfig`), but that is one more
port per process to open, probe and document. Instead its runtime records into a
`MetricBuffer`, and this module folds the buffered updates into a prometheus_client
collector of the process-wide registry: the API's `/metrics` and the worker's ops port show
them beside the `journey_*` metrics, named as the SDK names them (`temporal_*`).

The buffer is drained on every scrape and by a background thread every second, so a
busy worker never fills it between scrapes (a full buffer drops updates). Counters are
deltas in the buffer and are summed here; gauges keep their last value; histograms are
bucketed here, durations in seconds.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from prometheus_client import REGISTRY
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from temporalio.runtime import (
    BUFFERED_METRIC_KIND_COUNTER,
    BUFFERED_METRIC_KIND_GAUGE,
    BufferedMetricUpdate,
    LogForwardingConfig,
    LoggingConfig,
    MetricBuffer,
    MetricBufferDurationFormat,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

BUFFER_SIZE: Final = 100_000
DRAIN_EVERY_SECONDS: Final = 1.0
SECONDS_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
OTHER_BUCKETS: Final = (1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0)

Labels = tuple[tuple[str, str], ...]

log = logging.getLogger(__name__)
CORE_LOGGER = logging.getLogger("temporalio.core")


@dataclass
class _Series:
    kind: int
    description: str
    buckets: tuple[float, ...]
    values: dict[Labels, float] = field(default_factory=dict)
    """Counters and gauges: the value of each label set."""
    histograms: dict[Labels, tuple[list[int], float]] = field(default_factory=dict)
    """Histograms: each label set's count per bucket (not cumulative) and sum."""


class TemporalSdkCollector(Collector):
    """The SDK's buffered metric updates, folded and exposed as Prometheus metric families."""

    def __init__(self, buffer: MetricBuffer) -> None:
        self._buffer = buffer
        self._lock = threading.Lock()
        self._series: dict[str, _Series] = {}

    def drain(self) -> None:
        with self._lock:
            self.fold(self._buffer.retrieve_updates())

    def fold(self, updates: Sequence[BufferedMetricUpdate]) -> None:
        for update in updates:
            metric = update.metric
            series = self._series.get(metric.name)
            if series is None:
                buckets = SECONDS_BUCKETS if metric.unit in ("s", "seconds", "duration") else OTHER_BUCKETS
                series = self._series[metric.name] = _Series(int(metric.kind), metric.description or metric.name, buckets)
            labels: Labels = tuple(sorted((str(key), str(value)) for key, value in update.attributes.items()))
            value = float(update.value)
            if series.kind == BUFFERED_METRIC_KIND_COUNTER:
                series.values[labels] = series.values.get(labels, 0.0) + value
            elif series.kind == BUFFERED_METRIC_KIND_GAUGE:
                series.values[labels] = value
            else:
                counts, total = series.histograms.get(labels) or ([0] * (len(series.buckets) + 1), 0.0)
                counts[next((i for i, bound in enumerate(series.buckets) if value <= bound), len(series.buckets))] += 1
                series.histograms[labels] = (counts, total + value)

    def collect(self) -> Iterator[Metric]:
        self.drain()
        with self._lock:
            for name, series in sorted(self._series.items()):
                yield from _families(name, series)


def _families(name: str, series: _Series) -> Iterator[Metric]:
    """Samples are added with their labels as dicts: one metric's label sets need not share their keys."""
    if series.kind == BUFFERED_METRIC_KIND_COUNTER:
        base = name.removesuffix("_total")
        counter = Metric(base, series.description, "counter")
        for labels, value in series.values.items():
            counter.add_sample(f"{base}_total", dict(labels), value)
        yield counter
    elif series.kind == BUFFERED_METRIC_KIND_GAUGE:
        gauge = Metric(name, series.description, "gauge")
        for labels, value in series.values.items():
            gauge.add_sample(name, dict(labels), value)
        yield gauge
    else:
        histogram = Metric(name, series.description, "histogram")
        for labels, (counts, total) in series.histograms.items():
            running = 0
            for bound, count in zip([*series.buckets, math.inf], counts, strict=True):
                running += count
                histogram.add_sample(f"{name}_bucket", {**dict(labels), "le": "+Inf" if bound == math.inf else repr(bound)}, running)
            histogram.add_sample(f"{name}_count", dict(labels), running)
            histogram.add_sample(f"{name}_sum", dict(labels), total)
        yield histogram


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def sdk_metrics_runtime() -> Runtime:
    """The process's Temporal runtime, recording the SDK's metrics into the registry and its errors into the `temporalio.core`
    logger; created once, on first use.

    Pass it to `Client.connect(runtime=...)` (TemporalSettings.connect does): a client on the default runtime
    records nothing.
    """
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            buffer = MetricBuffer(BUFFER_SIZE, duration_format=MetricBufferDurationFormat.SECONDS)
            # The SDK's own log lines go through Python's logging (the process's format, JSON included), and only its
            # errors: at WARN it writes a line per poller every few seconds while Temporal is down, where the worker
            # and the API write one as an outage begins and one as it ends (orchestrator/routing/outage.py).
            errors_only = TelemetryFilter(core_level="ERROR", other_level="ERROR")
            logs = LoggingConfig(filter=errors_only, forwarding=LogForwardingConfig(CORE_LOGGER))
            _runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer, logging=logs))
            collector = TemporalSdkCollector(buffer)
            REGISTRY.register(collector)
            threading.Thread(target=_drain_forever, args=(collector,), name="temporal-sdk-metrics", daemon=True).start()
        return _runtime


def _drain_forever(collector: TemporalSdkCollector) -> None:
    while True:
        time.sleep(DRAIN_EVERY_SECONDS)
        try:
            collector.drain()
        except Exception:  # keep draining: a full buffer would drop the SDK's updates
            log.exception("draining the Temporal SDK's metrics failed")
