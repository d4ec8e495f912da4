"""Journey facts in the store: appended once each, in the order they were recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from orchestrator.store import JourneyFact, Store
from orchestrator.store.schema import journey_facts
from tests.store.support import AT


def fact(kind: str, key: str, *, enrollment_id: str = "e1", minutes: int = 0, **more: object) -> JourneyFact:
    return JourneyFact(kind, "cart", "v1", enrollment_id, "c1", key, AT + timedelta(minutes=minutes), **more)  # type: ignore[arg-type]


def test_a_fact_recorded_twice_is_kept_once_as_first_written(store: Store) -> None:
    with store.session() as session:
        sent = fact("message", "message:welcome:1:sent", step_id="welcome", visit=1, name="email", status="sent")
        session.record_facts([fact("entered", "entered"), sent])
    with store.session() as session:  # a retried activity, a re-delivered webhook
        again = fact("message", "message:welcome:1:sent", minutes=5, status="failed")
        session.record_facts([again, fact("entered", "entered", enrollment_id="e2")])
    with store.read() as session:
        rows = session._conn.execute(select(journey_facts).order_by(journey_facts.c.id)).all()
    assert [(r.enrollment_id, r.kind, r.status, r.occurred_at) for r in rows] == [
        ("e1", "entered", None, AT),
        ("e1", "message", "sent", AT),
        ("e2", "entered", None, AT),
    ]


def test_an_unknown_kind_is_refused_and_nothing_is_written(store: Store) -> None:
    with pytest.raises(ValueError, match="'opened' is not a journey fact"), store.session() as session:
        session.record_facts([fact("entered", "entered"), fact("opened", "opened")])
    with store.read() as session:
        assert session._conn.execute(select(journey_facts)).all() == []
