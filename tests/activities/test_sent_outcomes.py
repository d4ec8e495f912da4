"""Accepted messages recorded several per transaction (activities/sent_outcomes.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy.exc import OperationalError

from activities.messages import Message
from activities.sent_outcomes import Accepted, SentOutcomes
from orchestrator import ir
from orchestrator.runtime.contracts import SendRequest
from orchestrator.store import Store, StoreSession
from orchestrator.store.values import DeliveryKey

AT = datetime(2026, 1, 6, 17, 0, tzinfo=UTC)


def accepted(enrollment_id: str) -> Accepted:
    request = SendRequest(
        enrollment_id=enrollment_id,
        journey_id="promo",
        version="v1",
        visit=1,
        customer_id=f"c-{enrollment_id}",
        step=ir.SendStep(id="hello", channel="sms", next="end", body="Hello"),
        settings=ir.Settings(),
        event=None,
        now=AT.isoformat(),
    )
    message = Message("sms", "+14155552671", None, f"Hello {enrollment_id}")
    return Accepted(request, DeliveryKey(enrollment_id, "hello", 1), message, f"SM-{enrollment_id}", AT)


def claim(store: Store, *enrollment_ids: str) -> None:
    with store.session() as session:
        for enrollment_id in enrollment_ids:
            session.claim_delivery(DeliveryKey(enrollment_id, "hello", 1), "sms", AT, customer_id=f"c-{enrollment_id}", journey_id="promo")


def record_together(outcomes: SentOutcomes, items: list[Accepted]) -> dict[str, BaseException | None]:
    """Record `items` from one thread each, all queued before any transaction begins: one group."""
    errors: dict[str, BaseException | None] = {}

    def record(item: Accepted) -> None:
        try:
            outcomes.record(item)
            errors[item.request.enrollment_id] = None
        except Exception as error:
            errors[item.request.enrollment_id] = error

    threads = [threading.Thread(target=record, args=(item,)) for item in items]
    with outcomes._writing:  # as if another group's transaction were under way
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(outcomes._waiting) < len(items) and time.monotonic() < deadline:
            time.sleep(0.001)
        assert len(outcomes._waiting) == len(items)
    for thread in threads:
        thread.join(10)
    return errors


def ledger(store: Store, enrollment_id: str) -> tuple[str, str | None] | None:
    with store.read() as session:
        return session.delivery_outcome(DeliveryKey(enrollment_id, "hello", 1))


def outbox_bodies(store: Store, customer_id: str) -> list[str]:
    with store.read() as session:
        return [m.body for m in session.messages_for(customer_id)]


def test_a_group_records_every_send_and_each_returns_after_its_commit(store: Store) -> None:
    claim(store, "e1", "e2", "e3")
    outcomes = SentOutcomes(store, lambda: AT)
    errors = record_together(outcomes, [accepted(e) for e in ("e1", "e2", "e3")])
    assert errors == {"e1": None, "e2": None, "e3": None}
    for enrollment_id in ("e1", "e2", "e3"):
        assert ledger(store, enrollment_id) == ("sent", None)
        assert outbox_bodies(store, f"c-{enrollment_id}") == [f"Hello {enrollment_id}"]


def test_one_bad_row_fails_only_its_own_send(store: Store) -> None:
    claim(store, "e1", "e3")  # e2 was never claimed: its `sent` cannot be written, and the group's transaction fails
    outcomes = SentOutcomes(store, lambda: AT)
    errors = record_together(outcomes, [accepted(e) for e in ("e1", "e2", "e3")])
    assert errors["e1"] is None and errors["e3"] is None
    assert isinstance(errors["e2"], LookupError)
    assert ledger(store, "e1") == ("sent", None) and ledger(store, "e3") == ("sent", None)
    assert ledger(store, "e2") is None and outbox_bodies(store, "c-e2") == []
    assert outbox_bodies(store, "c-e1") == ["Hello e1"]


def test_a_send_another_attempt_decided_reports_that_outcome_and_writes_no_outbox_row(store: Store) -> None:
    claim(store, "e1", "e2")
    with store.session() as session:
        session.mark_delivery(DeliveryKey("e1", "hello", 1), "failed", AT, reason="bounced")
    outcomes = SentOutcomes(store, lambda: AT)
    items = [accepted("e1"), accepted("e2")]
    assert record_together(outcomes, items) == {"e1": None, "e2": None}
    assert items[0].earlier == ("failed", "bounced") and items[1].earlier is None
    assert outbox_bodies(store, "c-e1") == [] and outbox_bodies(store, "c-e2") == ["Hello e2"]


def test_concurrent_sends_are_all_recorded_once(store: Store) -> None:
    ids = [f"e{n}" for n in range(64)]
    claim(store, *ids)
    outcomes = SentOutcomes(store, lambda: AT)
    pending = [accepted(e) for e in ids]
    lock = threading.Lock()
    seen_after_return: dict[str, tuple[str, str | None] | None] = {}

    def work() -> None:
        while True:
            with lock:
                if not pending:
                    return
                item = pending.pop()
            outcomes.record(item)
            seen_after_return[item.request.enrollment_id] = ledger(store, item.request.enrollment_id)

    workers = [threading.Thread(target=work) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert seen_after_return == {e: ("sent", None) for e in ids}  # each committed before its `record` returned
    assert all(outbox_bodies(store, f"c-{e}") == [f"Hello {e}"] for e in ids)


class _LockedOnce:
    """A store whose next write session fails as a database locked past its busy timeout does; counts sessions."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.sessions = 0
        self.failures = 1

    @contextmanager
    def session(self, lock_customer: str | None = None) -> Iterator[StoreSession]:
        self.sessions += 1
        if self.failures:
            self.failures -= 1
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
        with self.store.session(lock_customer) as session:
            yield session


def test_a_database_failure_fails_the_group_at_once_without_retrying_each_send(store: Store) -> None:
    claim(store, "e1", "e2", "e3")
    locked = _LockedOnce(store)
    outcomes = SentOutcomes(locked, lambda: AT)  # type: ignore[arg-type]
    errors = record_together(outcomes, [accepted(e) for e in ("e1", "e2", "e3")])
    assert all(isinstance(error, OperationalError) for error in errors.values()), errors
    assert locked.sessions == 1  # one wait for the lock, not one more per send
    assert [ledger(store, e) for e in ("e1", "e2", "e3")] == [("intent", None)] * 3
