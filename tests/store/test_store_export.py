"""The export reads every table that holds a customer's rows, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from orchestrator.store import JourneyFact, Store
from orchestrator.store.export import read_export
from orchestrator.store.values import DeliveryKey, OutboxMessage, ProviderEvent
from tests.store.support import AT


def test_the_export_holds_the_customers_rows_and_no_one_elses(store: Store) -> None:
    key = DeliveryKey("cart-1", "reminder", 1)
    with store.session() as session:
        for who in ("ann", "bob"):
            session.identify(who, {"email": f"{who}@example.com", "sms_opt_in": True, "phone": "+14155552671"}, AT)
            session.record_event(f"{who}-ev", who, "checkout_started", {"cart_value": 50}, AT, AT)
        session.start_enrollment("cart-1", "cart", "v1", "ann", AT)
        session.claim_delivery(key, "email", AT, customer_id="ann", journey_id="cart", category="marketing")
        session.mark_delivery(key, "sent", AT, provider_message_id="pm-1")
        session.add_outbox_message(OutboxMessage("ann", "cart-1", "cart", "v1", "reminder", "email", "ann@example.com", "Hi", "Body", AT))
        session.record_provider_events(
            [ProviderEvent("sendgrid", "ev-1", "open", AT, AT, customer_id="ann", enrollment_id="cart-1", step_id="reminder", visit=1)]
        )
        session.stop_number("+14155552671", "STOP", AT)
        for who in ("ann", "bob"):
            session.record_facts([JourneyFact("entered", "cart", "v1", f"cart-{who}", who, "entered", AT)])

    with store.read() as session:
        found = read_export(session, "ann")
        assert read_export(session, "nobody") is None
    assert found is not None
    document = found.document(AT)
    assert [event["message_id"] for event in document["events"]] == ["ann-ev"]
    assert document["profile"]["email"] == "ann@example.com"
    assert [r["channel"] for r in document["consent_records"]] == ["sms"]
    (delivery,) = document["deliveries"]
    assert [e["event_id"] for e in delivery["provider_events"]] == ["ev-1"]
    assert document["enrollments"][0]["steps"] == [
        {"step_id": "reminder", "visit": 1, "at": AT.isoformat(), "send": "email", "status": "sent"}
    ]
    assert document["messages"][0]["body"] == "Body"
    assert document["number_opt_out"] == {"keyword": "STOP", "opted_out_at": AT.isoformat()}
    assert [(f["kind"], f["enrollment_id"]) for f in document["journey_facts"]] == [("entered", "cart-ann")]
    assert document["profile_history"] == [
        {"changed_at": AT.isoformat(), "source": "identify", "changes": {"email": "ann@example.com", "phone": "+14155552671"}}
    ]
