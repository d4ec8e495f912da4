"""Every Prometheus metric the engine exports, defined once (docs/operations.md lists them with their alert rules).

The metrics live in prometheus_client's process-wide registry: the API serves them at
`/metrics`, the worker on its ops port (orchestrator/host/ops_server.py). A module of its
own, importing nothing of ours, so that every layer that counts (routing, webhooks,
activities, api, host) may import it without an import running upward.

Labels are bounded: a journey id, a channel, a provider name, a status or a reason code
from a fixed list. Never a customer id, an enrollment id, an address or any free text:
each distinct label value is a time series kept forever by the scraper, and a label is
read by everyone who reads the dashboards.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

EVENTS: Final = Counter(
    "journey_events",
    "Ingest calls answered by the API: one per identify, track or batch request (a batch counts once), by outcome and reason.",
    ["kind", "outcome", "reason"],
)
"""`kind`: identify | track | batch. `outcome`: accepted | refused. `reason`: the error code of a refusal
(`invalid_payload`, `customer_busy`, `temporal_unavailable`, ...), empty when accepted."""

ENROLLMENTS_STARTED: Final = Counter(
    "journey_enrollments_started",
    "Enrollments started: confirmed by Temporal and committed to the enrollment index (a broadcast page counts the members it admitted).",
    ["journey"],
)
ENROLLMENTS_ENDED: Final = Counter(
    "journey_enrollments_ended",
    "Enrollments whose end the worker wrote to the enrollment index, by journey and end status.",
    ["journey", "status"],
)

SENDS: Final = Counter(
    "journey_sends",
    "Sends whose outcome the send activities recorded in the delivery ledger, by channel and outcome (sent | suppressed | "
    "failed); a retry that only reports what an earlier attempt recorded is not counted again.",
    ["channel", "outcome"],
)
GATE_DECISIONS: Final = Counter(
    "journey_gate_decisions",
    "Delivery gate decisions (activities/delivery_gate.py) by action (send | defer | suppress) and the rule that decided.",
    ["action", "reason"],
)
PROVIDER_REQUEST_SECONDS: Final = Histogram(
    "journey_provider_request_seconds",
    "Time spent in one call to a delivery provider (one message, or one batch), by channel, provider and outcome "
    "(ok | retryable | permanent).",
    ["channel", "provider", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

LEASE_WAIT_SECONDS: Final = Histogram(
    "journey_lease_wait_seconds",
    "Time a routed call waited for customers' leases another call held (calls that found them free are not observed).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0),
)
WEBHOOK_EVENTS: Final = Counter(
    "journey_webhook_events",
    "Provider webhook events taken by the API (delivery statuses, inbound messages), by provider and kind.",
    ["provider", "kind"],
)


@contextmanager
def provider_call(channel: str, provider: str, permanent: type[BaseException]) -> Iterator[dict[str, str]]:
    """Time one provider call, so latency and errors come from the same observation. An exception of type `permanent` is
    a `permanent` outcome, any other `retryable`; a call that answers failures rather than raising them (a batch) sets
    `outcome` in the yielded dict."""
    labels = {"outcome": "ok"}
    started = time.perf_counter()
    try:
        yield labels
    except BaseException as exc:
        labels["outcome"] = "permanent" if isinstance(exc, permanent) else "retryable"
        raise
    finally:
        PROVIDER_REQUEST_SECONDS.labels(channel, provider, labels["outcome"]).observe(time.perf_counter() - started)


def exposition() -> tuple[bytes, str]:
    """The registry in Prometheus' text format, and its content type: what a `/metrics` endpoint answers."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
