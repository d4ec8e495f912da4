"""A backtest's bulk reads of the recorded past, on SQLite and PostgreSQL: by customer, in order, only what was asked."""

from __future__ import annotations

from datetime import timedelta
from itertools import groupby

from orchestrator.store import Store
from orchestrator.store import history_reads as history_module
from orchestrator.store.values import ConsentEvidence, DeliveryKey
from tests.store.support import AT

HOUR = timedelta(hours=1)


def test_the_events_of_a_window_come_customer_by_customer_oldest_first_and_only_those_named(store: Store) -> None:
    with store.session() as session:
        # Written out of order, across customers whose ids sort differently by locale and by code point.
        for message_id, customer, name, hours in [
            ("m1", "b-1", "checkout", 3), ("m2", "a_2", "checkout", 1), ("m3", "b-1", "checkout", 1), ("m4", "B1", "page", 2),
            ("m5", "a_2", "page", 0), ("m6", "b-1", "checkout", 50),  # the last is after the window
        ]:
            session.record_event(message_id, customer, name, {"n": hours}, AT + hours * HOUR, AT)
    with store.read() as session:
        every = [(row.customer_id, row.message_id) for row in session.events_between(AT, AT + 10 * HOUR)]
        named = [row.message_id for row in session.events_between(AT, AT + 10 * HOUR, names=["checkout"])]
        some = [row.message_id for row in session.events_between(AT, AT + 10 * HOUR, customer_ids=["b-1"])]
    by_customer = {customer: [message for _, message in rows] for customer, rows in groupby(every, key=lambda pair: pair[0])}
    assert len(by_customer) == 3  # each customer's rows together
    assert by_customer == {"a_2": ["m5", "m2"], "b-1": ["m3", "m1"], "B1": ["m4"]}
    assert sorted(named) == ["m1", "m2", "m3"] and some == ["m3", "m1"]


def test_chunks_of_customers_read_consent_capped_sends_and_earlier_entries(store: Store, monkeypatch: object) -> None:
    monkeypatch.setattr(history_module, "CUSTOMERS_PER_QUERY", 2)  # type: ignore[attr-defined]
    customers = [f"c{n}" for n in range(5)]
    with store.session() as session:
        for n, customer in enumerate(customers):
            session.identify(customer, {"email": f"{customer}@example.com", "sms_opt_in": n % 2 == 0, "phone": "+14155550100"},
                             AT, ConsentEvidence("identify", f"i{n}", AT))
            key = DeliveryKey(f"news-{customer}", "send", 1)
            session.claim_delivery(key, "email", AT, customer_id=customer, journey_id="news", category="marketing", admitted_at=AT)
            session.mark_delivery(key, "sent" if n != 1 else "suppressed", AT)
            session.start_enrollment(f"cart-{customer}", "cart", "v1", customer, AT - HOUR)
        session.identify("c0", {"sms_opt_in": False}, AT + 5 * HOUR)  # after the window's end
    with store.read() as session:
        consent = session.consent_records_of(customers, AT + HOUR)
        sends = session.capped_sends_of(customers, AT - HOUR, AT + HOUR)
        entries = session.entries_before(["cart"], customers[:3], AT)
        none_yet = session.entries_before(["cart"], customers, AT - 2 * HOUR)
    assert [(record.customer_id, record.channel, record.opted_in) for record in consent if record.channel == "sms"] == [
        (customer, "sms", n % 2 == 0) for n, customer in enumerate(customers)
    ]
    assert [(customer, journey) for customer, journey, _ in sends] == [(c, "news") for c in customers if c != "c1"]  # suppressed: no slot
    assert sorted(entry.enrollment_id for entry in entries) == ["cart-c0", "cart-c1", "cart-c2"] and none_yet == []


def test_a_backtest_reads_each_customers_history_whole_while_the_calls_stream(store: Store, monkeypatch: object) -> None:
    from orchestrator.simulation import backtest_history
    from orchestrator.simulation.backtest_history import Window, read_histories

    monkeypatch.setattr(backtest_history, "CHUNK_CUSTOMERS", 2)  # type: ignore[attr-defined]
    monkeypatch.setattr(history_module, "STREAM_ROWS", 3)  # type: ignore[attr-defined]
    customers = [f"c{n}" for n in range(5)]
    with store.session() as session:
        for n, customer in enumerate(customers):
            session.identify(customer, {"plan": f"p{n}"}, AT)
            for k in range(n + 1):
                session.record_event(f"{customer}-{k}", customer, "checkout", {}, AT + k * HOUR, AT)
            session.record_event(f"{customer}-view", customer, "page", {}, AT, AT)
    window = Window(AT, AT + 10 * HOUR)
    with store.read() as session:
        histories = list(read_histories(session, window, ["cart"], calls={"checkout"}, sends_since=AT, every_profile=False))
        everyone = list(read_histories(session, window, ["cart"], calls={"checkout"}, sends_since=AT, every_profile=True))
    for read in (histories, everyone):
        assert sorted((h.customer_id, len(h.calls), h.changes[0].changes["plan"]) for h in read) == [
            (customer, n + 1, f"p{n}") for n, customer in enumerate(customers)
        ]
