"""GET /v1/customers/{id}/journeys says why each enrollment did what it did: why it ended, and what its steps could not do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.support import Stack, compiled, eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")

TRAVEL = """
id: travel
name: Travel
trigger: {event: trip_booked}
steps:
  - id: remember
    update:
      set: {traveller: true}
      compute: {timezone: "event.tz"}
  - id: tell_partner
    webhook:
      url: "{{ event.callback }}"
      body: {trip: "{{ event.trip_id }}"}
  - id: tell_crm
    webhook:
      url: "https://crm.example.com/trips"
      headers: {X-Trip: "{{ event.trip_id + 1 }}"}
  - id: hello
    send: {channel: email, subject: "Bon voyage", body: "<p>Have a good trip.</p>"}
"""


async def finished(stack: Stack, user: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        (enrollment,) = await stack.journeys(user)
        return enrollment if enrollment["status"] != "running" else None

    return await eventually(probe, what=f"the enrollment of {user} to end")


async def test_what_an_update_and_webhooks_could_not_do_is_listed_with_the_enrollment(stack: Stack) -> None:
    await stack.deploy(compiled(TRAVEL))
    await stack.identify("ivy", email="ivy@example.com")
    answer = await stack.track("ivy", "trip_booked", tz="Mars/Olympus", callback="ftp://files.example.com/ivy", trip_id="T-7")
    assert answer.status_code == 200, answer.text

    enrollment = await finished(stack, "ivy")
    assert (enrollment["status"], enrollment["reason"]) == ("completed", None)
    problems = enrollment["problems"]
    where = [(p["step"], p["field"]) for p in problems]
    assert where == [("remember", "timezone"), ("tell_partner", "url"), ("tell_crm", "headers.X-Trip")]
    refused, not_http, failed = (p["problem"] for p in problems)
    assert refused.startswith("not written: 'Mars/Olympus' is not an IANA time zone")
    assert not_http == "not called: '{{ event.callback }}' did not render to an http:// or https:// address with a host"
    assert failed == "not called: '{{ event.trip_id + 1 }}' did not render: can only concatenate str (not \"int\") to str"
    assert all(datetime.fromisoformat(p["at"]) > datetime.now(UTC) - timedelta(minutes=1) for p in problems)
    # The rest of the step was done, and the journey went on.
    assert [m["step"] for m in await stack.messages("ivy")] == ["hello"]
    # Sends keep their reasons in /deliveries; nothing is repeated here.
    assert all(p["step"] != "hello" for p in problems)


GATED = """
id: gated
name: Gated
trigger: {event: signed_up}
steps:
  - id: outside
    exit: {reason: "outside the US launch"}
"""


async def test_an_enrollment_that_ended_before_the_index_kept_reasons_shows_what_its_version_tells(stack: Stack) -> None:
    journey = compiled(GATED)
    await stack.deploy(journey)
    await stack.identify("jon", email="jon@example.com")
    now = datetime.now(UTC)
    with stack.store.session() as session:  # as a row finished before migration 0007 reads: no end_reason
        session.start_enrollment("gated-jon-1", journey.id, journey.version, "jon", now)
        session.finish_enrollment("gated-jon-1", "exited", "outside", now)
    (enrollment,) = await stack.journeys("jon")
    assert (enrollment["status"], enrollment["reason"], enrollment["problems"]) == ("exited", "outside the US launch", [])
