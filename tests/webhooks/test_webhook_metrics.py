"""`journey_webhook_events_total`: each new provider event counted once by provider and a bounded kind; a redelivery counts nothing."""

from __future__ import annotations

import httpx
from prometheus_client import REGISTRY

from orchestrator.store import Store
from orchestrator.webhooks.kinds import metric_kind
from tests.webhooks.support import Sent, customer, sent
from tests.webhooks.test_twilio_webhooks import BOB, inbound, status, twilio


def counted(provider: str, kind: str) -> float:
    return REGISTRY.get_sample_value("journey_webhook_events_total", {"provider": provider, "kind": kind}) or 0.0


async def test_status_callbacks_and_a_stop_are_counted_once_each(client: httpx.AsyncClient, store: Store) -> None:
    customer(store, "bob", **BOB)
    nudge: Sent = sent(store, "bob", "nudge", "sms", "SM" + "2" * 32)
    delivered, stops = counted("twilio", "delivered"), counted("twilio", "inbound_stop")
    for _ in range(2):  # Twilio redelivers: the second request of each changes and counts nothing
        assert (await twilio(client, "/webhooks/twilio/status", status(nudge, "delivered"))).status_code == 200
        assert (await twilio(client, "/webhooks/twilio/inbound", inbound("stop", sid="SMstop1"))).status_code == 200
    assert (counted("twilio", "delivered"), counted("twilio", "inbound_stop")) == (delivered + 1, stops + 1)


def test_a_kind_no_module_knows_is_counted_as_other() -> None:
    assert metric_kind("sendgrid", "open") == "open"
    assert metric_kind("sendgrid", "ann@example.com") == "other"
    assert metric_kind("twilio", "undelivered") == "undelivered"
    assert metric_kind("twilio", "inbound UNSTOP") == "inbound_start"
    assert metric_kind("twilio", "inbound") == "inbound"
    assert metric_kind("mailgun", "delivered") == "other"
