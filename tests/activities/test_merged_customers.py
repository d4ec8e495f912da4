"""Activities of an enrollment started for an anonymous visitor who has since logged in work for the known customer:
the send goes to their address, counts against their caps, and a merge that lands mid-activity gets it retried."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from activities.current_customer import current_requests
from activities.delivery_gate import gate_send
from activities.journey_activities import JourneyActivities
from orchestrator.runtime.contracts import UpdateRequest
from orchestrator.store import Store
from orchestrator.store.identities import CustomerMerged, anonymous_customer_id, merge_identity
from orchestrator.store.schema import deliveries
from orchestrator.store.values import DeliveryKey
from tests.activities.test_send_controls import request
from tests.store.support import count_rows

VISITOR = anonymous_customer_id("v-1")
NOW = datetime.now(UTC)


def logged_in(store: Store) -> None:
    with store.session() as session:
        session.identify(VISITOR, {"plan": "trial"}, NOW - timedelta(hours=1))
        session.identify("u1", {"email": "u1@example.com"}, NOW - timedelta(hours=1))
        merge_identity(session, VISITOR, "u1", "login-1", NOW - timedelta(minutes=5))


def test_a_send_of_the_visitors_enrollment_goes_to_the_known_customer_and_counts_as_theirs(store: Store) -> None:
    logged_in(store)
    activities = JourneyActivities(store)
    result = activities.send_message(request(VISITOR, "browse-v-1", now=NOW))
    assert result.status == "sent"
    with store.read() as session:
        (message,) = session.messages_for("u1")
        (delivery,) = session.deliveries_for("u1")
    assert message.to == "u1@example.com" and message.customer_id == delivery.customer_id == "u1"
    (token,) = re.findall(r"/v1/unsubscribe/([A-Za-z0-9_-]+)", message.body)[:1]
    assert activities.unsubscribe.customer_of(token) == "u1"  # the link unsubscribes the known customer


def test_a_journeys_update_of_the_visitor_writes_the_known_profile(store: Store) -> None:
    logged_in(store)
    update = UpdateRequest("browse-v-1", "browse", "v1", "tag", VISITOR, {"browsed": True}, None, [], None, NOW.isoformat(), 1)
    JourneyActivities(store).update_profile(update)
    with store.read() as session:
        profile = session.get_profile("u1")
    assert profile is not None and profile.traits == {"plan": "trial", "browsed": True}


def test_a_merge_that_lands_after_the_activity_read_its_customer_refuses_the_gate_until_retried(store: Store) -> None:
    with store.session() as session:
        session.identify(VISITOR, {"email": "v@example.com"}, NOW - timedelta(hours=1))
    stale = current_requests(store, [request(VISITOR, "browse-v-1", now=NOW)])[0]  # read before the login
    assert stale.customer_id == VISITOR
    logged_in(store)
    with pytest.raises(CustomerMerged), store.session(lock_customer=VISITOR) as session:
        gate_send(session, stale, DeliveryKey("browse-v-1", "hello", 1), JourneyActivities(store).policy, NOW)
    assert count_rows(store, deliveries) == 0
    assert current_requests(store, [stale])[0].customer_id == "u1"  # what the retried activity works with


def test_requests_of_known_customers_are_left_as_they_are(store: Store) -> None:
    known = request("u7", "promo-u7", now=NOW)
    assert current_requests(store, [known])[0] is known
