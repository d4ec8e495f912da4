"""The unsubscribe link in marketing email: GET only confirms, POST revokes consent and ends `exit_on: [unsubscribed]` journeys."""

from __future__ import annotations

import re
from typing import Any

import pytest

from orchestrator.api.state import ApiRuntime
from orchestrator.store.schema import events
from tests.api.support import QUICK_CART, Stack, compiled, count_rows, eventually
from tests.store.support import enrollment_row

pytestmark = pytest.mark.asyncio(loop_scope="session")


def email_opt_in(stack: Stack, user: str) -> bool:
    with stack.store.session() as session:
        profile = session.get_profile(user)
    assert profile is not None
    return profile.consent["email"]


async def test_the_link_in_a_marketing_email_unsubscribes_and_ends_the_journey(stack: Stack) -> None:
    await stack.deploy(compiled(QUICK_CART))
    await stack.identify("ann", email="ann@example.com", country="US")
    assert (await stack.track("ann", "checkout_started", cart_value=50)).status_code == 200
    (reminder,) = await eventually(lambda: stack.messages("ann"), what="the reminder")
    (path,) = set(re.findall(r"/v1/unsubscribe/[A-Za-z0-9_.=-]+", reminder["body"]))

    page = await stack.http.get(path, headers={"Authorization": ""})  # the customer has no API key
    assert page.status_code == 200 and '<form method="post"' in page.text
    assert email_opt_in(stack, "ann")  # a mail scanner following the link unsubscribes nobody

    done = await stack.http.post(path, headers={"Authorization": ""})
    assert done.status_code == 200 and "unsubscribed" in done.text
    assert not email_opt_in(stack, "ann")

    async def exited() -> dict[str, Any] | None:
        (enrollment,) = await stack.journeys("ann")
        return enrollment if enrollment["status"] == "exited" else None

    enrollment = await eventually(exited, what="the enrollment to exit on `unsubscribed`")
    assert enrollment["reason"] == "exit_on: unsubscribed"  # the link's event, named as the journey lists it
    stored = enrollment_row(stack.store, enrollment["enrollment_id"])
    assert stored is not None and stored.end_reason == "exit_on: unsubscribed"


async def test_a_forged_or_damaged_token_changes_nothing(stack: Stack) -> None:
    await stack.identify("bob", email="bob@example.com")
    for path in ("/v1/unsubscribe/Ym9i.AAAA", "/v1/unsubscribe/not-a-token"):
        assert (await stack.http.get(path)).status_code == 404
        assert (await stack.http.post(path)).status_code == 404
    assert email_opt_in(stack, "bob")


async def test_a_replayed_unsubscribe_changes_nothing_but_one_after_opting_in_again_unsubscribes(stack: Stack) -> None:
    await stack.identify("cat", email="cat@example.com")
    runtime = stack.app.state.runtime
    assert isinstance(runtime, ApiRuntime)
    path = f"/v1/unsubscribe/{runtime.settings.unsubscribe.token('cat')}"
    assert (await stack.http.post(path, headers={"Authorization": ""})).status_code == 200
    recorded = count_rows(stack.store, events, customer_id="cat")
    assert count_rows(stack.store, events, customer_id="cat", name="unsubscribed") == 1

    replayed = await stack.http.post(path, headers={"Authorization": ""})  # a mail client's one-click, then the button
    assert replayed.status_code == 200 and "unsubscribed" in replayed.text
    assert count_rows(stack.store, events, customer_id="cat") == recorded

    await stack.identify("cat", email_opt_in=True)  # opted in again: the same link unsubscribes again
    assert (await stack.http.post(path, headers={"Authorization": ""})).status_code == 200
    assert not email_opt_in(stack, "cat")
    assert count_rows(stack.store, events, customer_id="cat", name="unsubscribed") == 2


def consent_records(stack: Stack, user: str) -> list[tuple[str, bool, str, str | None]]:
    with stack.store.read() as session:
        return [(r.channel, r.opted_in, r.source, r.evidence) for r in session.consent_records_for(user)]


async def test_every_consent_change_is_recorded_with_where_it_came_from_and_a_replay_records_nothing(stack: Stack) -> None:
    opt_in = {"userId": "dee", "messageId": "crm-1", "traits": {"email": "dee@example.com", "email_opt_in": True}}
    assert (await stack.http.post("/v1/identify", json=opt_in)).status_code == 200
    assert (await stack.http.post("/v1/identify", json=opt_in)).status_code == 200  # the same call again
    runtime = stack.app.state.runtime
    assert isinstance(runtime, ApiRuntime)
    path = f"/v1/unsubscribe/{runtime.settings.unsubscribe.token('dee')}"
    assert (await stack.http.post(path, headers={"Authorization": ""})).status_code == 200
    assert (await stack.http.post(path, headers={"Authorization": ""})).status_code == 200

    (identified, unsubscribed) = consent_records(stack, "dee")
    assert identified == ("email", True, "identify", "crm-1")
    channel, opted_in, source, evidence = unsubscribed
    assert (channel, opted_in, source) == ("email", False, "unsubscribe_link")
    assert evidence is not None and evidence.startswith("unsubscribe-") and runtime.settings.unsubscribe.token("dee") not in evidence
