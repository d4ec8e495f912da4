"""Events: recorded once per message id, alone or in batches."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from orchestrator.store import EventRow, Store
from orchestrator.store.events import EVENT_BATCH
from orchestrator.store.schema import events
from tests.store.support import AT, count_rows


def _event(message_id: str, name: str = "page_viewed", customer_id: str = "c1") -> EventRow:
    return EventRow(message_id, customer_id, name, {"path": "/cart"}, AT, AT + timedelta(seconds=1))


def _stored_names(store: Store) -> dict[str, str]:
    with store.engine.connect() as connection:
        return {row.message_id: row.name for row in connection.execute(select(events.c.message_id, events.c.name))}


def test_record_event_is_true_once_then_false_for_the_same_message_id(store: Store) -> None:
    with store.session() as session:
        assert session.record_event("m1", "c1", "checkout_started", {"cart_value": 42}, AT, AT) is True
    with store.session() as session:
        assert session.record_event("m1", "c1", "order_completed", {}, AT, AT) is False
        assert session.record_event("m2", "c1", "order_completed", {}, AT, AT) is True
    assert count_rows(store, events, message_id="m1") == 1
    assert _stored_names(store) == {"m1": "checkout_started", "m2": "order_completed"}


def test_record_event_keeps_properties_and_times(store: Store) -> None:
    properties = {"cart_value": 42.5, "items": [{"sku": "A1", "qty": 2}], "coupon": None, "note": "café"}
    with store.session() as session:
        session.record_event("m1", "c1", "checkout_started", properties, AT, AT + timedelta(seconds=3))
    with store.engine.connect() as connection:
        row = connection.execute(select(events)).one()
    assert (row.customer_id, row.name, row.properties) == ("c1", "checkout_started", properties)
    assert (row.timestamp, row.received_at) == (AT, AT + timedelta(seconds=3))


def test_event_properties_without_a_json_type_are_stored_the_same_way_on_both_databases(store: Store) -> None:
    with store.session() as session:
        session.record_event(
            "m1", "c1", "ordered", {"day": date(2026, 3, 2), "at": AT, "total": Decimal("19.90"), "tags": {"b", "a"}}, AT, AT
        )
    with store.engine.connect() as connection:
        stored = connection.execute(select(events.c.properties)).scalar_one()
    assert stored == {"day": "2026-03-02", "at": "2026-03-02T09:30:15.123456+00:00", "total": 19.9, "tags": ["a", "b"]}


def test_record_events_returns_only_the_new_ids_and_a_repeat_in_the_batch_counts_once(store: Store) -> None:
    with store.session() as session:
        session.record_event("m1", "c1", "seen-before", {}, AT, AT)
    batch = [_event("m1"), _event("m2", "first"), _event("m3"), _event("m2", "repeat")]
    with store.session() as session:
        assert session.record_events(batch) == {"m2", "m3"}
    with store.session() as session:
        assert session.record_events(batch) == set()
        assert session.record_events([]) == set()
    assert count_rows(store, events) == 3
    assert _stored_names(store) == {"m1": "seen-before", "m2": "first", "m3": "page_viewed"}


def test_record_events_handles_a_batch_larger_than_one_insert(store: Store) -> None:
    ids = [f"m{n:05}" for n in range(2_000)]
    assert len(ids) > 3 * EVENT_BATCH, "the batch must span several INSERT statements"
    with store.session() as session:
        assert session.record_events([_event(message_id) for message_id in ids]) == set(ids)
    assert count_rows(store, events) == 2_000
    with store.session() as session:
        # Old ids spread over every chunk, one new id in the last chunk.
        assert session.record_events([_event(message_id) for message_id in [*ids, "m-new"]]) == {"m-new"}
    assert count_rows(store, events) == 2_001
