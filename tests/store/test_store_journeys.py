"""Deployed journeys and the enrollment index."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator import ir
from orchestrator.store import Store
from orchestrator.store.schema import enrollments, journey_versions
from tests.store.support import AT, count_rows, enrollment_row

LATER = AT + timedelta(hours=1)


def test_first_deploy_stores_the_journey_and_makes_it_active(store: Store, cart_v1: ir.Journey) -> None:
    with store.session() as session:
        assert session.deploy(cart_v1, AT) is True
    with store.session() as session:
        assert session.active_journeys() == [cart_v1]
        assert session.journey_version(cart_v1.id, cart_v1.version) == cart_v1


def test_deploying_the_active_version_again_changes_nothing(store: Store, cart_v1: ir.Journey) -> None:
    with store.session() as session:
        session.deploy(cart_v1, AT)
    with store.session() as session:
        assert session.deploy(cart_v1, LATER) is False
        assert session.active_journeys() == [cart_v1]
    assert count_rows(store, journey_versions) == 1


def test_deploying_a_new_version_switches_the_active_one_and_keeps_the_old_readable(
    store: Store, cart_v1: ir.Journey, cart_v2: ir.Journey
) -> None:
    with store.session() as session:
        session.deploy(cart_v1, AT)
    with store.session() as session:
        assert session.deploy(cart_v2, LATER) is True
    with store.session() as session:
        assert session.active_journeys() == [cart_v2]
        assert session.journey_version(cart_v1.id, cart_v1.version) == cart_v1
        assert session.journey_version(cart_v2.id, cart_v2.version) == cart_v2
        assert session.journey_version(cart_v1.id, "0000000000000000") is None
        assert session.journey_version("no_such_journey", cart_v1.version) is None
        # Rolling back is deploying the old version again.
        assert session.deploy(cart_v1, LATER) is True
        assert session.active_journeys() == [cart_v1]
    assert count_rows(store, journey_versions) == 2


def test_deactivate_removes_the_journey_from_active_journeys_until_deployed_again(store: Store, cart_v1: ir.Journey) -> None:
    with store.session() as session:
        session.deploy(cart_v1, AT)
    with store.session() as session:
        session.deactivate(cart_v1.id)
        session.deactivate("never_deployed")
    with store.session() as session:
        assert session.active_journeys() == []
        assert session.journey_version(cart_v1.id, cart_v1.version) == cart_v1
        assert session.deploy(cart_v1, LATER) is True
        assert session.active_journeys() == [cart_v1]


def test_start_enrollment_is_idempotent(store: Store) -> None:
    with store.session() as session:
        session.start_enrollment("e1", "cart", "v1", "c1", AT)
    with store.session() as session:
        session.start_enrollment("e1", "cart", "v2", "c2", LATER)
    enrollment = enrollment_row(store, "e1")
    assert count_rows(store, enrollments) == 1
    assert enrollment is not None
    assert (enrollment.journey_id, enrollment.version, enrollment.customer_id) == ("cart", "v1", "c1")
    assert (enrollment.status, enrollment.current_step, enrollment.entered_at, enrollment.ended_at) == ("running", None, AT, None)


def test_enrollments_for_lists_the_customers_enrollments_oldest_first(store: Store) -> None:
    with store.session() as session:
        session.start_enrollment("e-late", "cart", "v1", "c1", AT + timedelta(days=2))
        session.start_enrollment("e-early", "welcome", "v1", "c1", AT)
        session.start_enrollment("e-middle", "cart", "v1", "c1", AT + timedelta(days=1))
        session.start_enrollment("e-other", "cart", "v1", "c2", AT)
        session.finish_enrollment("e-middle", "completed", "reminder", LATER)
    with store.session() as session:
        assert [e.enrollment_id for e in session.enrollments_for("c1")] == ["e-early", "e-middle", "e-late"]
        assert [e.enrollment_id for e in session.enrollments_for("c1", running_only=True)] == ["e-early", "e-late"]
        assert session.enrollments_for("nobody") == []


def test_finish_enrollment_first_finish_wins(store: Store) -> None:
    with store.session() as session:
        session.start_enrollment("e1", "cart", "v1", "c1", AT)
    with store.session() as session:
        session.finish_enrollment("e1", "converted", "opened", LATER)
    with store.session() as session:
        session.finish_enrollment("e1", "exited", "nudge", LATER + timedelta(hours=1))
        session.finish_enrollment("no-such-enrollment", "failed", None, LATER)
    enrollment = enrollment_row(store, "e1")
    assert enrollment is not None
    assert (enrollment.status, enrollment.current_step, enrollment.ended_at) == ("converted", "opened", LATER)
    assert count_rows(store, enrollments) == 1


@pytest.mark.parametrize("status", ["running", "done", ""])
def test_finish_enrollment_refuses_a_status_that_is_not_a_finish(store: Store, status: str) -> None:
    with store.session() as session:
        session.start_enrollment("e1", "cart", "v1", "c1", AT)
        with pytest.raises(ValueError, match="not a finished enrollment status"):
            session.finish_enrollment("e1", status, "step", LATER)
    enrollment = enrollment_row(store, "e1")
    assert enrollment is not None and (enrollment.status, enrollment.ended_at) == ("running", None)
