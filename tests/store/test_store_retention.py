"""Retention: old events, message contents and ended enrollments (with their journey facts) go, in batches; the journey counts stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from orchestrator import ir
from orchestrator.analytics.counts import JourneyCounts
from orchestrator.cli import main
from orchestrator.host import retention
from orchestrator.store import OutboxMessage, Store
from orchestrator.store.retention import RetentionPolicy
from orchestrator.store.schema import deliveries, enrollment_summaries, enrollments, events, journey_facts, outbox_messages, provider_events
from orchestrator.store.values import DeliveryKey, JourneyFact, ProviderEvent
from tests.store.support import AT, count_rows

OLD = AT - timedelta(days=500)
POLICY = RetentionPolicy(events=timedelta(days=400), messages=timedelta(days=180), enrollments=timedelta(days=400))


def seed(store: Store) -> None:
    """Ann, with old and recent events, an old ended enrollment that sent one message, and an old one still running."""
    with store.session() as session:
        session.identify("ann", {"email": "ann@example.com"}, OLD)
        for n in range(3):
            session.record_event(f"old-{n}", "ann", "viewed", {}, OLD, OLD)
        session.record_event("recent", "ann", "viewed", {}, AT, AT)
        session.start_enrollment("cart-1", "cart", "v1", "ann", OLD)
        key = DeliveryKey("cart-1", "reminder", 1)
        session.claim_delivery(key, "email", OLD, customer_id="ann", journey_id="cart", category="marketing")
        session.mark_delivery(key, "sent", OLD, provider_message_id="pm-1")
        session.add_outbox_message(OutboxMessage("ann", "cart-1", "cart", "v1", "reminder", "email", "ann@example.com", "Hi", "B", OLD))
        session.record_provider_events([ProviderEvent("sendgrid", "ev-1", "open", OLD, OLD, "ann", "cart-1", "reminder", 1)])
        session.finish_enrollment("cart-1", "completed", "reminder", OLD + timedelta(days=1))
        session.start_enrollment("digest-1", "digest", "v1", "ann", OLD)  # still running: kept, however old
        sent = {"step_id": "reminder", "visit": 1, "name": "email"}
        session.record_facts([
            JourneyFact("entered", "cart", "v1", "cart-1", "ann", "entered", OLD),
            JourneyFact("message", "cart", "v1", "cart-1", "ann", "message:reminder:1:sent", OLD, status="sent", **sent),  # type: ignore[arg-type]
            JourneyFact("provider", "cart", "v1", "cart-1", "ann", "provider:reminder:1:opened", OLD, status="opened", **sent),  # type: ignore[arg-type]
            JourneyFact("ended", "cart", "v1", "cart-1", "ann", "ended", OLD + timedelta(days=1), step_id="reminder", status="completed"),
            JourneyFact("entered", "digest", "v1", "digest-1", "ann", "entered", OLD),
        ])  # fmt: skip


def cart_counts(store: Store) -> JourneyCounts:
    steps = (ir.SendStep("reminder", "email", ir.END),)
    cart = ir.Journey("cart", "cart", "v1", ir.EventTrigger("cart_updated"), ir.Entry(), ir.Settings(), steps, "reminder", ())
    return store.journey_counts([cart], first_day=None, last_day=None, now=AT)


def test_prune_deletes_what_the_policy_no_longer_keeps_and_the_journey_counts_stay(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(store)
    monkeypatch.setattr(retention, "PRUNE_BATCH", 2)  # three old events: two batches

    assert retention.prune(store, POLICY, AT) == {"events": 3, "messages": 1, "enrollments": 1, "profile_histories": 1}

    assert count_rows(store, events) == 1 and count_rows(store, outbox_messages) == 0
    assert count_rows(store, enrollments) == 1 and count_rows(store, deliveries) == 0 and count_rows(store, provider_events) == 0
    assert count_rows(store, journey_facts, enrollment_id="cart-1") == 0
    assert count_rows(store, enrollment_summaries, enrollment_id="cart-1") == 0
    assert count_rows(store, journey_facts, enrollment_id="digest-1") == 1  # a running enrollment's facts stay with it
    counts = cart_counts(store)
    assert (counts.entered, counts.completed, counts.steps[0].messages.sent, counts.steps[0].messages.opened) == (1, 1, 1, 1)
    nothing_left = {"events": 0, "messages": 0, "enrollments": 0, "profile_histories": 0}
    assert retention.prune(store, POLICY, AT) == nothing_left


def test_none_keeps_a_kind_for_good(store: Store) -> None:
    seed(store)
    keep_all = RetentionPolicy(events=None, messages=None, enrollments=None)
    assert retention.prune(store, keep_all, AT) == {"events": 0, "messages": 0, "enrollments": 0, "profile_histories": 0}
    assert count_rows(store, events) == 4


def test_journey_prune_reads_the_retention_of_the_environment(store: Store) -> None:
    seed(store)
    environment = {"DATABASE_URL": store.url, "JOURNEY_RETENTION_EVENTS": "none", "JOURNEY_RETENTION_ENROLLMENTS": "none"}
    ran = CliRunner().invoke(main, ["prune"], env=environment)
    assert ran.exit_code == 0, ran.output
    assert ran.output.strip() == "0 events, 1 messages, 0 enrollments, 0 profile_histories pruned"
    refused = CliRunner().invoke(main, ["prune"], env={**environment, "JOURNEY_RETENTION_MESSAGES": "soon"})
    assert refused.exit_code == 2 and "JOURNEY_RETENTION_MESSAGES='soon'" in refused.output
