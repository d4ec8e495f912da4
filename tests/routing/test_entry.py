"""The entry rules as pure decisions: trigger, audience and re-entry, with no store and a fixed clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from orchestrator import ir
from orchestrator.routing.entry import Broadcast, Cause, Decision, Identified, PastEntry, Tracked, decide
from tests.routing.support import CART, NOW, VIP, compiled

US = {"id": "c1", "country": "US"}

DIGEST = """
id: digest
name: Digest
trigger: {schedule: {cron: "0 9 * * MON"}}
entry: {audience: "customer.country == 'US'", re_entry: {after: 7d}}
steps:
  - id: hello
    send: {channel: email, subject: "Hi", body: "This week"}
"""

# The cart journey's audience also reads the triggering event here.
CART_JOURNEY = compiled(CART.replace("customer.country == 'US'", "customer.country == 'US' and event.cart_value < 1000"))
VIP_JOURNEY, DIGEST_JOURNEY = compiled(VIP), compiled(DIGEST)


def none_before() -> Sequence[PastEntry]:
    return ()


def unread() -> Sequence[PastEntry]:
    raise AssertionError("the history was read although the trigger or the audience already refused")


def entries(*ages_and_running: tuple[timedelta, bool]) -> list[PastEntry]:
    return [PastEntry(NOW - age, running) for age, running in ages_and_running]


# --- the trigger ----------------------------------------------------------------


def test_a_tracked_trigger_event_whose_where_holds_enters_as_the_first_entry() -> None:
    assert decide(CART_JOURNEY, Tracked("checkout_started", {"cart_value": 50}), US, none_before, NOW) == Decision(True, "entered", 1)


@pytest.mark.parametrize(
    ("tracked", "reason"),
    [
        (Tracked("email_opened", {"cart_value": 50}), "not triggered by email_opened"),
        (Tracked("checkout_started", {"cart_value": 5}), "the trigger's where is false"),
        (Tracked("checkout_started", {}), "the trigger's where is false"),  # a where that fails to evaluate is false
    ],
)
def test_another_event_or_a_false_where_does_not_enter(tracked: Tracked, reason: str) -> None:
    assert decide(CART_JOURNEY, tracked, US, unread, NOW) == Decision(False, reason, rule="trigger")


def test_the_triggers_where_reads_the_journeys_id_and_version() -> None:
    journey = compiled(CART.replace("event.cart_value >= 20", "journey.id == 'cart' and journey.version is defined"))
    assert decide(journey, Tracked("checkout_started", {"cart_value": 50}), US, none_before, NOW).enter


def test_an_identify_enters_a_segment_journey_only_when_the_profile_starts_to_match() -> None:
    vip = {"id": "c1", "spend": 1200}
    assert decide(VIP_JOURNEY, Identified({"id": "c1", "spend": 10}), vip, none_before, NOW).enter
    assert decide(VIP_JOURNEY, Identified(None), vip, none_before, NOW).enter  # a new customer matched nothing before
    already = decide(VIP_JOURNEY, Identified({"id": "c1", "spend": 1100}), vip, unread, NOW)
    assert already == Decision(False, "the profile was in the segment already", rule="trigger")
    not_yet = decide(VIP_JOURNEY, Identified(None), {"id": "c1", "spend": 10}, unread, NOW)
    assert not_yet == Decision(False, "the profile is not in the segment", rule="trigger")


def test_a_track_never_enters_a_segment_journey_nor_an_identify_an_event_journey() -> None:
    assert decide(VIP_JOURNEY, Tracked("checkout_started", {}), {"spend": 5000}, unread, NOW).reason == "not triggered by checkout_started"
    assert decide(CART_JOURNEY, Identified(None), US, unread, NOW).reason == "not triggered by a segment"


def test_a_broadcast_is_decided_by_the_audience_and_re_entry_alone() -> None:
    assert decide(DIGEST_JOURNEY, Broadcast(), US, none_before, NOW).enter
    assert decide(VIP_JOURNEY, Broadcast(), {"id": "c1"}, none_before, NOW).enter  # the caller chose the journey


# --- the audience -----------------------------------------------------------------


def test_the_audience_reads_the_profile_and_the_triggering_event() -> None:
    outside = decide(CART_JOURNEY, Tracked("checkout_started", {"cart_value": 50}), {"id": "c1", "country": "FR"}, unread, NOW)
    assert outside == Decision(False, "not in the audience", rule="audience")
    too_big = decide(CART_JOURNEY, Tracked("checkout_started", {"cart_value": 5000}), US, unread, NOW)
    assert too_big == Decision(False, "not in the audience", rule="audience")
    assert decide(DIGEST_JOURNEY, Broadcast(), {"id": "c1"}, unread, NOW).reason == "not in the audience"  # no country: false


# --- re-entry ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("journey", "cause"),
    [
        (CART_JOURNEY, Tracked("checkout_started", {"cart_value": 50})),
        (VIP_JOURNEY, Identified(None)),
        (DIGEST_JOURNEY, Broadcast()),
    ],
    ids=["never", "always", "after"],
)
def test_a_customer_is_never_in_the_same_journey_twice_at_once(journey: ir.Journey, cause: Cause) -> None:
    running = entries((timedelta(days=400), True))
    customer = {"id": "c1", "country": "US", "spend": 1000}
    assert decide(journey, cause, customer, lambda: running, NOW) == Decision(False, "already enrolled", rule="re_entry")


def test_re_entry_never_refuses_anyone_who_entered_before() -> None:
    ended = entries((timedelta(days=400), False))
    tracked = Tracked("checkout_started", {"cart_value": 50})
    assert decide(CART_JOURNEY, tracked, US, lambda: ended, NOW) == Decision(False, "entered before (re_entry: never)", rule="re_entry")


def test_re_entry_always_admits_again_once_the_previous_enrollment_ended() -> None:
    ended = entries((timedelta(days=2), False), (timedelta(days=1), False))
    assert decide(VIP_JOURNEY, Identified(None), {"spend": 1000}, lambda: ended, NOW) == Decision(True, "entered", 3)


def test_re_entry_after_waits_from_the_latest_entry() -> None:
    recent = entries((timedelta(days=30), False), (timedelta(days=6, hours=23), False))
    refused = decide(DIGEST_JOURNEY, Broadcast(), US, lambda: recent, NOW)
    assert refused == Decision(False, "entered less than 1w ago (re_entry: after)", rule="re_entry")
    exactly = entries((timedelta(days=30), False), (timedelta(days=7), False))
    assert decide(DIGEST_JOURNEY, Broadcast(), US, lambda: exactly, NOW) == Decision(True, "entered", 3)
