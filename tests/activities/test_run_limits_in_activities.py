"""An expression or template that hits a run-time limit on its data fails that one thing for that one customer, with the reason.

Through the real activities and store, without Temporal: a condition is false, a computed value is
skipped, a wait's date is skipped, a webhook fails for good, and a message is not sent, its delivery
saying which limit was hit (orchestrator/language/run_limits.py).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.journey_activities import JourneyActivities
from orchestrator import ir
from orchestrator.runtime.contracts import ConditionRequest, SendRequest, ValuesRequest, WakeRequest, WebhookRequest
from orchestrator.store import Store

NOW = datetime(2026, 1, 6, 17, 0, tzinfo=UTC)
EVENT: dict[str, Any] = {"n": 10**9, "list": list(range(30_000)), "total": 42}
OVERSIZED = "'x' * event.n"
"""An expression building a text of a billion characters from the event."""
TOO_MANY_STEPS = "{% for a in event.list %}{% for b in event.list %}{{ b }}{% endfor %}{% endfor %}"
"""A template looping 30,000 x 30,000 times over the event."""


@pytest.fixture
def activities(store: Store) -> JourneyActivities:
    with store.session() as session:
        session.identify("ann", {"email": "ann@example.com", "email_opt_in": True, "first_name": "Ann"}, NOW)
    return JourneyActivities(store, http=httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(200))))


def test_a_condition_at_a_limit_is_false_and_the_others_still_hold(activities: JourneyActivities) -> None:
    request = ConditionRequest("ann", "promo", "v1", [f"({OVERSIZED}) | length > 0", "event.total > 40"], EVENT, "branch")
    assert activities.evaluate_conditions(request) == [False, True]


def test_a_computed_value_at_a_limit_is_skipped_and_the_others_written(activities: JourneyActivities) -> None:
    request = ValuesRequest("ann", "promo", "v1", {"banner": OVERSIZED, "total": "event.total * 2"}, EVENT, "update")
    assert activities.evaluate_values(request) == {"total": 84}


def test_a_wait_whose_date_hits_a_limit_is_skipped_saying_why(activities: JourneyActivities) -> None:
    request = WakeRequest("ann", "UTC", NOW.isoformat(), until_date=f"'2026-02-01' ~ ({OVERSIZED})", event=EVENT, journey_id="promo")
    result = activities.wake_time(request)
    assert result.at is None and result.reason is not None and "more than the 100000 one value may hold" in result.reason


def test_a_webhook_whose_template_hits_a_limit_fails_for_good(activities: JourneyActivities) -> None:
    body = {"rows": TOO_MANY_STEPS}
    request = WebhookRequest("e-1", "promo", "v1", "crm", 1, "ann", "https://crm.example/hook", "POST", None, body, 10, EVENT)
    with pytest.raises(ApplicationError) as failed:
        activities.call_webhook(request)
    assert failed.value.non_retryable and "more than 1000000 steps" in str(failed.value)


def test_a_message_whose_template_hits_a_limit_is_not_sent_and_its_delivery_says_why(activities: JourneyActivities) -> None:
    step = ir.SendStep(id="digest", channel="email", next="end", subject="Your digest", body=TOO_MANY_STEPS)
    request = SendRequest("e-1", "promo", "v1", 1, "ann", step, ir.Settings(), EVENT, NOW.isoformat())
    result = activities.send_message(request)
    assert result.status == "failed"
    assert result.reason is not None and result.reason.startswith("template error in body: this template took more than 1000000 steps")
    fine = dataclasses.replace(request, enrollment_id="e-2", step=dataclasses.replace(step, body="Total: {{ event.total }}"))
    assert activities.send_message(fine).status == "sent"
