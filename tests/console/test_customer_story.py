"""One customer's story: the profile, consent with its records, and the timeline, read from the store's export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.console.customer_story import CustomerStory, story_of
from orchestrator.store import Store
from orchestrator.store.export import read_export
from orchestrator.store.values import DeliveryKey, OutboxMessage
from tests.console.customer_scenario import ANN, at, cart_fact, client, new_store, write_ann


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = new_store(tmp_path)
    try:
        yield store
    finally:
        store.dispose()


def ann_story(store: Store, limit: int = 200) -> CustomerStory:
    with store.read() as session:
        export = read_export(session, ANN)
    assert export is not None
    return story_of(export, limit=limit)


def test_the_timeline_lists_events_enrollment_steps_and_messages_newest_first(store: Store) -> None:
    write_ann(store)
    story = ann_story(store)

    assert [(entry.at, entry.kind, entry.title) for entry in story.timeline] == [
        (at(9), "ended", "Converted: left journey abandoned_cart"),
        (at(8), "provider", "Twilio reported inbound STOP"),
        (at(7), "message", "SMS suppressed: no consent for sms"),
        (at(2), "message", "Email sent: Your cart is waiting"),
        (at(2), "step", "Step reminder in abandoned_cart"),
        (at(1), "step", "Step wait_a_bit in abandoned_cart"),
        (at(1), "entered", "Entered journey abandoned_cart"),
        (at(1), "event", "Event checkout_started"),
        (at(0), "event", "Identified"),
    ]
    assert story.older_not_shown == 0
    ended = story.timeline[0]
    assert ("why", "goal: order_completed") in ended.details and ("at step", "text") in ended.details


def test_a_message_carries_what_was_sent_and_what_the_provider_reported(store: Store) -> None:
    write_ann(store)
    email = next(entry.message for entry in ann_story(store).timeline if entry.message and entry.message.channel == "email")

    assert email is not None and email.sent is not None
    assert (email.sent.subject, email.sent.body) == ("Your cart is waiting", "<p>Your cart of 50 is waiting.</p>")
    assert [(r.kind, r.outcome, r.at) for r in email.reports] == [
        ("delivered", "delivered", at(3)),
        ("open", "opened", at(4)),
        ("open", "opened", at(5)),
        ("click", "clicked", at(6)),
    ]
    assert (email.opens, email.clicks) == (2, 1)


def test_consent_shows_each_channel_with_the_record_behind_it_and_never_a_push_token(store: Store) -> None:
    write_ann(store)
    with store.session() as session:
        session.stop_number("+14155552671", "STOP", at(8))
    story = ann_story(store)

    channels = {c.channel: c for c in story.channels}
    email = channels["email"]
    assert (email.address, email.opted_in) == ("ann@example.com", True)
    assert email.record is not None
    assert (email.record.source, email.record.evidence, email.record.occurred_at) == ("identify", "id-1", at(0))
    assert channels["sms"].opted_in is False and channels["sms"].number_opted_out == at(8)
    assert channels["push"].address is None and story.push_tokens == 1
    assert "tok-1" not in repr(story.channels) + repr(story.push_tokens)


def test_the_timeline_is_cut_to_the_newest_entries_and_says_how_many_are_not_shown(store: Store) -> None:
    write_ann(store)
    with store.session() as session:
        for n in range(250):
            session.record_event(f"view-{n}", ANN, "page_viewed", {"n": n}, at(10 + n), at(10 + n))

    story = ann_story(store)
    assert len(story.timeline) == 200 and story.older_not_shown == 259 - 200
    assert story.timeline[0].details[1:] == (("n", "249"),)  # the newest first
    assert ann_story(store, limit=5).older_not_shown == 254


def test_an_end_without_a_reason_in_the_index_takes_the_ended_fact_s(store: Store) -> None:
    write_ann(store)
    with store.read() as session:
        export = read_export(session, ANN)
    assert export is not None
    (enrollment,) = export.enrollments
    fact = cart_fact("ended", 9, "text", status="converted", detail="goal: bought")
    older = replace(export, enrollments=[replace(enrollment, end_reason=None)], journey_facts=[*export.journey_facts, fact])
    assert ("why", "goal: bought") in story_of(older).timeline[0].details


async def test_the_story_s_statuses_are_those_the_api_answers(store: Store) -> None:
    write_ann(store)
    story = ann_story(store)
    async with client(store) as http:
        deliveries = (await http.get(f"/v1/customers/{ANN}/deliveries")).json()["deliveries"]
        journeys = (await http.get(f"/v1/customers/{ANN}/journeys")).json()["journeys"]

    messages = [entry.message for entry in reversed(story.timeline) if entry.message is not None]
    assert [(m.enrollment_id, m.step_id, m.visit, m.channel, m.status, m.reason, m.provider_status) for m in messages] == [
        (d["enrollment_id"], d["step"], d["visit"], d["channel"], d["status"], d["reason"], d["provider_status"]) for d in deliveries
    ]
    ended = [entry for entry in story.timeline if entry.kind == "ended"]
    assert [(e.journey_id, e.status, dict(e.details)["why"]) for e in ended] == [(j["journey"], j["status"], j["reason"]) for j in journeys]


def test_a_push_message_never_shows_the_token_it_went_to(store: Store) -> None:
    write_ann(store)
    push = OutboxMessage(ANN, "cart-ann", "abandoned_cart", "v1", "nudge", "push", "tok-1", "Still thinking?", "Your cart is saved.", at(8))
    with store.session() as session:
        key = DeliveryKey("cart-ann", "nudge", 1)
        session.claim_delivery(key, "push", at(8), customer_id=ANN, journey_id="abandoned_cart", category="marketing")
        session.mark_delivery(key, "sent", at(8), provider_message_id="fcm-1")
        session.add_outbox_message(push)
    messages = {entry.message.channel: entry.message for entry in ann_story(store).timeline if entry.message is not None}

    assert messages["push"].sent is not None and messages["push"].sent.body == "Your cart is saved."
    assert (messages["push"].recipient, messages["email"].recipient) == (None, "ann@example.com")
