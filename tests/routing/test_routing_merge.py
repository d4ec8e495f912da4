"""Anonymous visitors through the Router: enrolled as themselves, merged by identify, track or alias, once, and all or nothing."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from orchestrator.routing import router as router_module
from orchestrator.routing.calls import (
    AliasCall,
    Call,
    EndCall,
    IdentifyCall,
    MergeRefused,
    SignalCall,
    StartCall,
    TemporalCall,
    TemporalUnavailable,
    TrackCall,
)
from orchestrator.routing.router import Router
from orchestrator.store import Store
from orchestrator.store.identities import anonymous_customer_id, as_current
from orchestrator.store.schema import enrollments, events, identities, profiles
from tests.keys import CUSTOMER_KEYS, HASH_SECRET
from tests.routing.support import CART, NOW, compiled
from tests.routing.test_routing import FakeGateway, count, identify, track

VISITOR = anonymous_customer_id("v-1")


def login(customer: str, message_id: str, anonymous: str = VISITOR, **traits: object) -> IdentifyCall:
    return IdentifyCall(customer, dict(traits), message_id, NOW, NOW, anonymous_id=anonymous)


def browsing_visitor(router: Router) -> str:
    """A visitor from the US who started a checkout: enrolled in the cart journey as their anonymous profile."""
    router.identify(identify(VISITOR, "v-identify", country="US"))
    (enrolled,) = router.track(track(VISITOR, "checkout_started", "v-checkout", cart_value=50)).enrolled
    assert enrolled == CUSTOMER_KEYS.enrollment_id("cart", VISITOR, 1)
    return enrolled


def rows(store: Store, customer: str) -> list[tuple[str, str]]:
    with store.read() as session:
        return [(e.enrollment_id, e.status) for e in session.enrollments_for(customer)]


def test_an_anonymous_enrollment_continues_as_the_customer_who_logs_in(router: Router, gateway: FakeGateway, store: Store) -> None:
    enrolled = browsing_visitor(router)
    merged = router.identify(login("u1", "login", email="u1@example.com"))
    assert merged.enrolled == [] and not any(isinstance(c, EndCall) for c in gateway.calls)
    assert rows(store, "u1") == [(enrolled, "running")] and rows(store, VISITOR) == []
    # The customer's later event, by either id, reaches the enrollment the visitor started.
    assert router.track(track("u1", "email_opened", "open-1")).signalled == [enrolled]
    assert router.track(track(VISITOR, "email_opened", "open-2")).signalled == [enrolled]
    assert count(store, events) == 5
    with store.read() as session:
        assert {e.customer_id for e in session.events_for("u1")} == {"u1"}
        profile = session.get_profile("u1")
    assert profile is not None and profile.traits == {"country": "US"} and profile.email == "u1@example.com"


def test_where_both_were_enrolled_in_a_journey_the_younger_ends_merged(router: Router, gateway: FakeGateway, store: Store) -> None:
    older = browsing_visitor(router)
    router.identify(identify("u1", "u-identify", country="US"))
    (younger,) = router.track(track("u1", "checkout_started", "u-checkout", cart_value=70)).enrolled
    gateway.calls.clear()
    router.identify(login("u1", "login"))
    assert gateway.calls == [EndCall("u1", younger)]
    assert rows(store, "u1") == [(older, "running"), (younger, "merged")]
    assert router.track(track("u1", "email_opened", "open-1")).signalled == [older]
    counted = store.journey_counts([compiled(CART)], first_day=None, last_day=None, now=NOW)
    assert (counted.entered, counted.customers, counted.waiting, counted.merged) == (2, 1, 1, 1)


def test_a_merge_is_all_or_nothing_when_temporal_fails_and_happens_once(router: Router, gateway: FakeGateway, store: Store) -> None:
    browsing_visitor(router)
    router.identify(identify("u1", "u-identify", country="US"))
    router.track(track("u1", "checkout_started", "u-checkout", cart_value=70))
    gateway.fail = True
    with pytest.raises(TemporalUnavailable):
        router.identify(login("u1", "login"))
    assert count(store, identities) == 0 and count(store, profiles) == 2
    assert [status for _, status in rows(store, VISITOR) + rows(store, "u1")] == ["running", "running"]
    gateway.fail = False
    router.identify(login("u1", "login"))
    assert router.identify(login("u1", "login")).duplicate
    again = router.apply([AliasCall("u1", VISITOR, "alias-1", NOW, NOW)])[0]
    assert not again.duplicate and again.enrolled == []
    assert count(store, identities) == 1 and count(store, profiles) == 1
    assert sum(isinstance(c, EndCall) for c in gateway.calls) == 1


def test_an_anonymous_id_merged_into_another_customer_is_refused_and_nothing_of_the_batch_is_applied(
    router: Router, store: Store
) -> None:
    browsing_visitor(router)
    router.apply([AliasCall("u1", VISITOR, "alias-1", NOW, NOW)])
    before = count(store, events)
    with pytest.raises(MergeRefused) as refused:
        router.apply([identify("u2", "u2-identify", country="US"), login("u2", "login-u2")])
    assert refused.value.index == 1 and refused.value.conflict.merge.customer_id == "u1"
    assert count(store, events) == before
    with store.read() as session:
        assert session.get_profile("u2") is None


def test_a_track_with_both_ids_merges_before_it_routes(router: Router, gateway: FakeGateway, store: Store) -> None:
    enrolled = browsing_visitor(router)
    gateway.calls.clear()
    answer = router.track(TrackCall("u1", "email_opened", {}, "open-1", NOW, NOW, anonymous_id=VISITOR))
    assert answer.signalled == [enrolled]
    assert [type(c) for c in gateway.calls] == [SignalCall]
    assert rows(store, "u1") == [(enrolled, "running")]


def test_a_visitor_enrolls_again_under_their_known_id_only_as_the_re_entry_rule_allows(router: Router, gateway: FakeGateway) -> None:
    browsing_visitor(router)
    router.identify(login("u1", "login"))
    router.track(track("u1", "email_opened", "open-1"))
    # The cart journey says re_entry: never; the visitor's enrollment counts as the customer's.
    assert router.track(track("u1", "checkout_started", "u-checkout", cart_value=70)).enrolled == []
    assert [type(c) for c in gateway.calls].count(StartCall) == 1


def test_an_event_nobody_listens_to_from_a_merged_visitor_is_recorded_as_the_customers(router: Router, store: Store) -> None:
    browsing_visitor(router)
    router.identify(login("u1", "login"))
    router.track(track(VISITOR, "page_viewed", "view-9"))
    assert count(store, enrollments) == 1
    with store.read() as session:
        assert [e.message_id for e in session.events_for("u1")][-1] == "view-9"


def test_a_segment_the_merged_profile_enters_is_entered_once(router: Router, store: Store) -> None:
    (visitor_vip,) = router.identify(identify(VISITOR, "v-spend", spend=2000)).enrolled
    # The customer's own profile did not match; the merged one does, but the visitor's enrollment in it is theirs now.
    assert router.identify(login("u1", "login", country="US")).enrolled == []
    assert rows(store, "u1") == [(visitor_vip, "running")]


class AnswerLost(FakeGateway):
    """Temporal carries out the first batch of calls, but its answer never arrives (a timeout, a process killed)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.lose_next = True

    def execute(self, calls: Sequence[TemporalCall]) -> list[bool]:
        answers = super().execute(calls)
        if self.lose_next:
            self.lose_next = False
            raise TemporalUnavailable("no answer")
        return answers


def test_a_merge_whose_temporal_answer_was_lost_is_made_whole_by_the_retried_call(store: Store) -> None:
    gateway = AnswerLost(store)
    gateway.lose_next = False
    router = Router(store, gateway, hash_secret=HASH_SECRET)
    older = browsing_visitor(router)
    router.identify(identify("u1", "u-identify", country="US"))
    (younger,) = router.track(track("u1", "checkout_started", "u-checkout", cart_value=70)).enrolled
    gateway.lose_next = True
    with pytest.raises(TemporalUnavailable):
        router.identify(login("u1", "login"))  # the younger workflow was ended, the merge not recorded
    assert count(store, identities) == 0 and rows(store, "u1") == [(younger, "running")]
    router.identify(login("u1", "login"))  # the sender retries the same call: the same end again, then the commit
    assert [c for c in gateway.calls if isinstance(c, EndCall)] == [EndCall("u1", younger)] * 2
    assert rows(store, "u1") == [(older, "running"), (younger, "merged")] and count(store, identities) == 1


def test_a_visitor_who_merges_between_the_read_and_the_leases_is_routed_again_as_the_customer(
    router: Router, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrolled = browsing_visitor(router)
    router.identify(login("u1", "login"))
    reads: list[int] = []

    def read_before_the_merge(store: Store, calls: Sequence[Call]) -> list[Call]:
        reads.append(len(calls))
        return list(calls) if len(reads) == 1 else as_current(store, calls)  # the first read saw the visitor unmerged

    monkeypatch.setattr(router_module, "as_current", read_before_the_merge)
    assert router.track(track(VISITOR, "email_opened", "open-1")).signalled == [enrolled]
    assert reads == [1, 1]
