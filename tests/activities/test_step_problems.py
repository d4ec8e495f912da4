"""Steps that cannot do their part note why, once, where a user looks (the store's enrollment problems).

The real activities, without Temporal (a retried attempt is the same call again); the journeys
that run them are in tests/runtime/test_end_reasons_and_problems.py and the API's and simulate's tests.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.journey_activities import JourneyActivities
from orchestrator.runtime.activity_calls import WEBHOOK_RETRY
from orchestrator.runtime.contracts import UpdateRequest, ValuesRequest, WakeRequest, WebhookRequest
from orchestrator.store import Store

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def problems(store: Store, customer_id: str = "c1") -> list[tuple[str, int, str, str]]:
    with store.read() as session:
        return [(p.step_id, p.visit, p.field, p.problem) for p in session.problems_for(customer_id)]


def webhook(url: str, headers: dict[str, str] | None = None, body: object = None) -> WebhookRequest:
    return WebhookRequest(
        enrollment_id="hook-c1-1",
        journey_id="hook",
        version="v1",
        step_id="crm",
        visit=1,
        customer_id="c1",
        url=url,
        method="POST",
        headers=headers,
        body=body,
        timeout_seconds=10,
        event={"callback": "ftp://files.example.com/drop", "secret_code": "s3cr3t"},
        now=NOW.isoformat(),
    )


def activities_answering(store: Store, status: int = 200) -> tuple[JourneyActivities, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(status)

    return JourneyActivities(store, http=httpx.Client(transport=httpx.MockTransport(answer))), sent


def test_a_computed_timezone_the_profile_refuses_is_noted_once_and_the_rest_is_written(store: Store) -> None:
    activities = JourneyActivities(store)
    with store.session() as session:
        session.identify("c1", {"email": "ann@example.com"}, NOW)
    values = ValuesRequest("c1", "travel", "v1", {"timezone": "event.tz", "city": "event.city"}, {"tz": "Mars/Olympus", "city": "Oslo"},
                           "remember", "travel-c1-1", 1, NOW.isoformat())
    computed = activities.evaluate_values(values)
    assert computed == {"timezone": "Mars/Olympus", "city": "Oslo"}  # a value is computed; the profile decides whether it fits
    update = UpdateRequest("travel-c1-1", "travel", "v1", "remember", "c1", computed, None, [], None, NOW.isoformat(), visit=1)
    activities.update_profile(update)
    activities.update_profile(update)  # a retried attempt
    (noted,) = problems(store)
    assert noted[:3] == ("remember", 1, "timezone")
    assert noted[3].startswith("not written: 'Mars/Olympus' is not an IANA time zone")
    with store.read() as session:
        profile = session.get_profile("c1")
        (problem,) = session.problems_for("c1")
    assert profile is not None and profile.timezone is None and profile.traits["city"] == "Oslo"
    assert (problem.journey_id, problem.occurred_at) == ("travel", NOW)


def test_a_computed_value_that_fails_is_noted_with_its_expression_once(store: Store) -> None:
    activities = JourneyActivities(store)
    values = ValuesRequest("c1", "travel", "v1", {"trips": "customer.trips + 1"}, None, "count", "travel-c1-1", 2, NOW.isoformat())
    assert activities.evaluate_values(values) == {}
    assert activities.evaluate_values(values) == {}  # a retried attempt
    assert problems(store) == [("count", 2, "trips", "not written: 'customer.trips + 1' failed: 'dict object' has no attribute 'trips'")]


def test_requests_from_older_workflows_note_nothing(store: Store) -> None:
    activities = JourneyActivities(store)
    assert activities.evaluate_values(ValuesRequest("c1", "travel", "v1", {"trips": "customer.trips + 1"}, None)) == {}
    refused = {"timezone": "Mars/Olympus"}
    activities.update_profile(UpdateRequest("travel-c1-1", "travel", "v1", "remember", "c1", refused, None, [], None, NOW.isoformat()))
    assert problems(store) == []


@pytest.mark.parametrize(
    ("step", "field", "problem"),
    [
        (
            webhook("{{ event.callback }}"),
            "url",
            "not called: '{{ event.callback }}' did not render to an http:// or https:// address with a host",
        ),
        (
            webhook("https://crm.example.com/{{ customer.crm_id }}"),
            "url",
            "not called: 'https://crm.example.com/{{ customer.crm_id }}' did not render: 'dict object' has no attribute 'crm_id'",
        ),
        (
            webhook("https://crm.example.com/hook", headers={"X-Code": "{{ event.secret_code + 1 }}"}),
            "headers.X-Code",
            "not called: '{{ event.secret_code + 1 }}' did not render: can only concatenate str (not \"int\") to str",
        ),
        (
            webhook("https://crm.example.com/hook", body={"lines": ["{{ event.callback }}", "{{ event.nothing }}"]}),
            "body.lines[1]",
            "not called: '{{ event.nothing }}' did not render: 'dict object' has no attribute 'nothing'",
        ),
    ],
    ids=["url-not-http", "url-template-fails", "header-fails", "body-leaf-fails"],
)
def test_a_webhook_that_cannot_be_made_is_not_retried_and_is_noted_once(
    store: Store, step: WebhookRequest, field: str, problem: str
) -> None:
    activities, sent = activities_answering(store)
    for _ in range(2):  # Temporal does not retry it; were the task run twice, it would note once
        with pytest.raises(ApplicationError) as raised:
            activities.call_webhook(step)
        assert raised.value.non_retryable
    assert sent == []
    assert problems(store) == [("crm", 1, field, problem)]
    assert "ftp://files.example.com" not in problem and "s3cr3t" not in problem  # never a rendered value


async def test_a_webhook_still_failing_on_its_last_attempt_is_noted(store: Store) -> None:
    activities, sent = activities_answering(store, status=503)
    env = ActivityEnvironment()
    for attempt in (1, 7, 8, 8):  # the last one twice: a retried task of the same attempt notes nothing new
        env.info = dataclasses.replace(env.info, attempt=attempt, retry_policy=WEBHOOK_RETRY)
        with pytest.raises(ApplicationError) as raised:
            env.run(activities.call_webhook, webhook("https://crm.example.com/hook"))
        assert not raised.value.non_retryable
        assert len(problems(store)) == (0 if attempt < 8 else 1)
    assert len(sent) == 4
    assert problems(store) == [("crm", 1, "call", "failed after 8 attempts, the journey went on without it: HTTP 503")]


def test_an_until_date_that_gives_no_date_is_noted_once(store: Store) -> None:
    activities = JourneyActivities(store)
    wake = WakeRequest(
        customer_id="c1",
        default_timezone="UTC",
        now=NOW.isoformat(),
        until_date="customer.renews_on",
        journey_id="renewal",
        version="v1",
        step_id="before_renewal",
        enrollment_id="renewal-c1-1",
        visit=1,
    )
    assert activities.wake_time(wake).at is None
    assert activities.wake_time(wake).at is None
    ((step, visit, field, problem),) = problems(store)
    assert (step, visit, field) == ("before_renewal", 1, "until_date")
    assert problem.startswith("no date from 'customer.renews_on': ") and problem.endswith("; the wait was skipped")

