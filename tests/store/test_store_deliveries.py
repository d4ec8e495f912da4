"""The delivery ledger (one delivery per enrollment, step and visit) and the sandbox outbox."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from orchestrator.store import OutboxMessage, Store
from orchestrator.store.schema import deliveries
from orchestrator.store.values import DeliveryKey, message_reference
from tests.store.support import AT, count_rows, delivery_row

LATER = AT + timedelta(minutes=1)


def test_claiming_twice_returns_the_same_intent_row(store: Store) -> None:
    with store.session() as session:
        first = session.claim_delivery(DeliveryKey("e1", "reminder", 1), "email", AT)[0]
    with store.session() as session:
        again = session.claim_delivery(DeliveryKey("e1", "reminder", 1), "sms", LATER)[0]
    assert first.status == "intent"
    assert again == first
    assert (again.channel, again.created_at, again.provider_message_id, again.reason) == ("email", AT, None, None)
    assert count_rows(store, deliveries) == 1


def test_claiming_after_the_outcome_returns_the_decided_row(store: Store) -> None:
    with store.session() as session:
        session.claim_delivery(DeliveryKey("e1", "reminder", 1), "email", AT)
        session.mark_delivery(DeliveryKey("e1", "reminder", 1), "sent", LATER, provider_message_id="sandbox-1")
    with store.session() as session:
        retry = session.claim_delivery(DeliveryKey("e1", "reminder", 1), "email", LATER + timedelta(minutes=1))[0]
    assert (retry.status, retry.provider_message_id, retry.created_at, retry.updated_at) == ("sent", "sandbox-1", AT, LATER)


def test_the_first_outcome_stands(store: Store) -> None:
    with store.session() as session:
        session.claim_delivery(DeliveryKey("e1", "reminder", 1), "email", AT)
        session.mark_delivery(DeliveryKey("e1", "reminder", 1), "suppressed", LATER, reason="quiet hours")
    with store.session() as session:
        session.mark_delivery(DeliveryKey("e1", "reminder", 1), "sent", LATER + timedelta(minutes=1), provider_message_id="late")
        session.mark_delivery(DeliveryKey("e1", "reminder", 1), "failed", LATER + timedelta(minutes=2), reason="boom")
        row = session.claim_delivery(DeliveryKey("e1", "reminder", 1), "email", LATER)[0]
    assert (row.status, row.reason, row.provider_message_id, row.updated_at) == ("suppressed", "quiet hours", None, LATER)


def test_marking_an_unclaimed_delivery_raises_lookup_error(store: Store) -> None:
    with store.session() as session:
        session.claim_delivery(DeliveryKey("e1", "reminder", 1), "email", AT)
        with pytest.raises(LookupError, match="claim_delivery first"):
            session.mark_delivery(DeliveryKey("e1", "reminder", 2), "sent", LATER)
        with pytest.raises(LookupError):
            session.mark_delivery(DeliveryKey("e2", "reminder", 1), "sent", LATER)
    assert count_rows(store, deliveries) == 1


@pytest.mark.parametrize("status", ["intent", "delivered"])
def test_marking_with_a_status_that_is_not_an_outcome_raises(store: Store, status: str) -> None:
    with store.session() as session:
        session.claim_delivery(DeliveryKey("e1", "reminder", 1), "email", AT)
        with pytest.raises(ValueError, match="not a delivery outcome"):
            session.mark_delivery(DeliveryKey("e1", "reminder", 1), status, LATER)
        assert session.claim_delivery(DeliveryKey("e1", "reminder", 1), "email", AT)[0].status == "intent"


def test_each_visit_of_a_step_is_its_own_delivery(store: Store) -> None:
    with store.session() as session:
        session.claim_delivery(DeliveryKey("e1", "reminder", 1), "email", AT)
        session.mark_delivery(DeliveryKey("e1", "reminder", 1), "sent", AT)
        second = session.claim_delivery(DeliveryKey("e1", "reminder", 2), "email", LATER)[0]
        other_step = session.claim_delivery(DeliveryKey("e1", "nudge", 1), "sms", LATER)[0]
        other_enrollment = session.claim_delivery(DeliveryKey("e2", "reminder", 1), "email", LATER)[0]
    assert [second.status, other_step.status, other_enrollment.status] == ["intent", "intent", "intent"]
    assert second.visit == 2
    assert count_rows(store, deliveries) == 4
    assert count_rows(store, deliveries, status="sent") == 1


def test_a_delivery_is_found_by_the_reference_of_its_keys_text(store: Store) -> None:
    """Providers get `<enrollment>:<step>:<visit>` and send its hash along; webhooks find the row by that hash."""
    key = DeliveryKey("e1", "reminder", 2)
    assert str(key) == "e1:reminder:2"
    with store.session() as session:
        claimed, _ = session.claim_delivery(key, "email", AT)
        assert session.delivery_for_message(reference=message_reference("e1:reminder:2")) == claimed
        assert session.delivery_for_message(reference=message_reference("e1:reminder:1")) is None
    assert claimed.key == key


def _message(customer_id: str, step_id: str, sent_at_offset: timedelta, subject: str | None = "Hi") -> OutboxMessage:
    return OutboxMessage(
        customer_id=customer_id,
        enrollment_id="e1",
        journey_id="cart",
        version="v1",
        step_id=step_id,
        channel="email",
        to=f"{customer_id}@example.com",
        subject=subject,
        body=f"<p>{step_id}</p>",
        sent_at=AT + sent_at_offset,
    )


def test_messages_for_returns_the_customers_messages_oldest_first_ties_in_insert_order(store: Store) -> None:
    with store.session() as session:
        session.add_outbox_message(_message("c1", "late", timedelta(hours=2)))
        session.add_outbox_message(_message("c1", "tie-first", timedelta(hours=1)))
        session.add_outbox_message(_message("c2", "someone-else", timedelta(0)))
        session.add_outbox_message(_message("c1", "tie-second", timedelta(hours=1), subject=None))
        session.add_outbox_message(_message("c1", "early", timedelta(0)))
    with store.session() as session:
        received = session.messages_for("c1")
        assert session.messages_for("nobody") == []
    assert [m.step_id for m in received] == ["early", "tie-first", "tie-second", "late"]
    ids = [m.id for m in received]
    assert all(isinstance(i, int) for i in ids)
    assert ids[1] is not None and ids[2] is not None and ids[1] < ids[2]
    assert received[2] == replace(_message("c1", "tie-second", timedelta(hours=1), subject=None), id=ids[2])


def test_a_first_claim_writes_the_gates_outcome_with_the_row(store: Store) -> None:
    with store.session() as session:
        admitted, new = session.claim_delivery(DeliveryKey("e1", "reminder", 1), "sms", AT, customer_id="c1", admitted_at=LATER)
        held, _ = session.claim_delivery(DeliveryKey("e1", "nudge", 1), "email", AT, reason="deferred until 08:00")
        refused, _ = session.claim_delivery(DeliveryKey("e1", "promo", 1), "email", AT, status="suppressed", reason="no consent")
    assert new
    assert (admitted.status, admitted.channel, admitted.admitted_at) == ("intent", "sms", LATER)
    assert (held.status, held.reason, held.admitted_at) == ("intent", "deferred until 08:00", None)
    assert (refused.status, refused.reason) == ("suppressed", "no consent")
    assert delivery_row(store, DeliveryKey("e1", "reminder", 1)) == admitted
    with store.read() as session:
        assert session.delivery_outcome(DeliveryKey("e1", "promo", 1)) == ("suppressed", "no consent")


def test_a_claim_that_finds_a_row_leaves_it_as_it_was(store: Store) -> None:
    with store.session() as session:
        first, _ = session.claim_delivery(DeliveryKey("e1", "reminder", 1), "email", AT, reason="deferred until 08:00")
    with store.session() as session:
        again, new = session.claim_delivery(DeliveryKey("e1", "reminder", 1), "sms", LATER, status="suppressed", reason="over the cap")
    assert not new
    assert again == first
    assert count_rows(store, deliveries) == 1


def test_a_claim_is_never_written_sent_or_failed(store: Store) -> None:
    with store.session() as session, pytest.raises(ValueError, match="intent or suppressed"):
        session.claim_delivery(DeliveryKey("e1", "reminder", 1), "email", AT, status="sent")
    assert count_rows(store, deliveries) == 0


def test_lookup_by_provider_id_uses_an_index_of_only_the_rows_that_have_one(store: Store) -> None:
    """Claims and suppressed sends (no id) write no entry in it; a webhook's lookup by id still finds its row through it."""
    with store.session() as session:
        session.claim_delivery(DeliveryKey("e1", "reminder", 1), "email", AT)
        session.mark_delivery(DeliveryKey("e1", "reminder", 1), "sent", LATER, provider_message_id="SM123")
        session.claim_delivery(DeliveryKey("e1", "promo", 1), "email", AT, status="suppressed", reason="no consent")
        found = session.delivery_for_message(provider_message_id="SM123")
    assert found is not None and found.step_id == "reminder"
    index = "ix_deliveries_provider_message_id"
    lookup = select(deliveries).where(deliveries.c.provider_message_id == "SM123").limit(1)
    with store.engine.connect() as connection:
        if store.dialect == "sqlite":
            definition = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": index}).scalar_one()
            compiled = lookup.compile(connection, compile_kwargs={"literal_binds": True})
            plan = " ".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        else:
            definition = connection.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": index}).scalar_one()
            connection.execute(text("SET enable_seqscan = off"))  # a table this small would be scanned whatever the index
            compiled = lookup.compile(connection, compile_kwargs={"literal_binds": True})
            plan = " ".join(str(row[0]) for row in connection.execute(text(f"EXPLAIN {compiled}")))
    assert "provider_message_id IS NOT NULL" in definition
    assert index in plan, plan


def test_the_gates_one_read_finds_what_the_profile_and_the_sends_reads_find(store: Store) -> None:
    """`gate_facts` packs its profile and sends as JSON; unpacked, they equal the plain reads of profile and ledger, on both databases."""
    traits = {
        "email": "ann@example.com",
        "phone": "+14155550100",
        "timezone": "Europe/Paris",
        "locale": "fr-FR",
        "push_tokens": ["token-a", "token-b"],
        "sms_opt_in": True,
        "first_name": 'Anne-Hélène "Nan" O\'Brien',
        "score": 0.1 + 0.2,
        "visits": 12345678901234567,
        "vip": True,
        "tags": ["a", None, {"deep": [1.5, "\\n"]}],
    }
    since = AT - timedelta(days=2)
    with store.session() as session:
        session.identify("c1", traits, AT)
        session.identify("c2", {"email": "bob@example.com"}, AT)

        def claim(enrollment: str, customer: str = "c1", category: str = "marketing", at: timedelta = timedelta()) -> None:
            key, journey = DeliveryKey(enrollment, "s", 1), f"j-{enrollment}"
            session.claim_delivery(key, "email", AT + at, customer_id=customer, journey_id=journey, category=category, admitted_at=AT + at)

        claim("counted")
        claim("sent-later", at=timedelta(hours=1))
        session.mark_delivery(DeliveryKey("sent-later", "s", 1), "sent", LATER, provider_message_id="p1")
        claim("this-one")  # the delivery being decided: excluded
        claim("refused")
        session.mark_delivery(DeliveryKey("refused", "s", 1), "failed", LATER, reason="bounced")
        claim("transactional", category="transactional")
        claim("too-old", at=timedelta(days=-3))
        claim("someone-else", customer="c2")
    with store.session() as session:
        profile, sends = session.gate_facts("c1", since, exclude=DeliveryKey("this-one", "s", 1))
        assert profile == session.get_profile("c1")
        holding_slots = [
            (d.journey_id, d.admitted_at)
            for d in session.deliveries_for("c1")
            if d.category == "marketing" and d.admitted_at is not None and d.admitted_at >= since
            and d.status not in ("suppressed", "failed") and d.enrollment_id != "this-one"
        ]  # fmt: skip
        assert sorted(sends) == sorted(holding_slots)
        assert sorted(sends) == [("j-counted", AT), ("j-sent-later", AT + timedelta(hours=1))]
        assert session.gate_facts("c2", since, exclude=DeliveryKey("someone-else", "s", 1)) == (session.get_profile("c2"), [])
        assert session.gate_facts("nobody", since, exclude=DeliveryKey("x", "s", 1)) == (None, [])
