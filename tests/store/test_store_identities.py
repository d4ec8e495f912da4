"""Anonymous profiles merged into known customers: what moves, what wins, what a repeat or a conflict does."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator.store import Store
from orchestrator.store.export import read_export
from orchestrator.store.identities import MergeConflict, anonymous_customer_id, merge_identity
from orchestrator.store.schema import events, identities, profile_changes, profiles
from tests.store.support import AT, count_rows, enrollment_row

VISITOR = anonymous_customer_id("v-1")
LATER = AT + timedelta(hours=1)


def _browse(store: Store) -> None:
    with store.session() as session:
        session.identify(VISITOR, {"email": "visitor@example.com", "email_opt_in": True, "plan": "trial", "color": "blue"}, AT)
        session.identify(VISITOR, {"push_tokens": ["tok-a"], "push_opt_in": True}, AT)
        for n in range(3):
            session.record_event(f"view-{n}", VISITOR, "Product Viewed", {"n": n}, AT, AT)


def test_a_merge_moves_events_and_consent_and_the_known_traits_win(store: Store) -> None:
    _browse(store)
    with store.session() as session:
        session.identify("u1", {"plan": "pro", "push_tokens": ["tok-b"]}, AT)
        outcome = merge_identity(session, VISITOR, "u1", "login-1", LATER)
    assert outcome.new and outcome.ended == []
    with store.session() as session:
        known = session.get_profile("u1")
        assert session.get_profile(VISITOR) is None
        assert session.current_customer(VISITOR) == "u1"
        assert [r.channel for r in session.consent_records_for("u1") if r.opted_in] == ["email", "push"]
    assert known is not None
    assert known.traits == {"plan": "pro", "color": "blue"}
    assert known.email == "visitor@example.com" and known.consent["email"] is True
    assert known.push_tokens == ("tok-b", "tok-a")
    assert count_rows(store, events, customer_id="u1") == 3
    assert count_rows(store, events, customer_id=VISITOR) == 0


def test_a_known_address_keeps_its_own_opt_in_and_stop_traits(store: Store) -> None:
    _browse(store)
    with store.session() as session:
        session.identify(VISITOR, {"email_undeliverable": True}, AT)
        session.identify("u1", {"email": "known@example.com", "email_opt_in": False}, AT)
        merge_identity(session, VISITOR, "u1", "login-1", LATER)
        known = session.get_profile("u1")
    assert known is not None
    assert known.email == "known@example.com" and known.consent["email"] is False
    assert "email_undeliverable" not in known.traits


def test_merging_again_changes_nothing_and_another_customer_is_refused(store: Store) -> None:
    _browse(store)
    with store.session() as session:
        merge_identity(session, VISITOR, "u1", "login-1", LATER)
    with store.session() as session:
        again = merge_identity(session, VISITOR, "u1", "login-2", LATER + timedelta(hours=1))
    assert not again.new and again.merge.message_id == "login-1"
    with pytest.raises(MergeConflict) as refused, store.session() as session:
        merge_identity(session, VISITOR, "u2", "login-3", LATER)
    assert refused.value.merge.customer_id == "u1" and refused.value.requested == "u2"
    assert count_rows(store, identities) == 1
    assert count_rows(store, profiles, customer_id="u2") == 0


def test_the_younger_of_two_enrollments_in_one_journey_ends_merged_and_the_others_follow(store: Store) -> None:
    _browse(store)
    with store.session() as session:
        session.identify("u1", {"plan": "pro"}, AT)
        session.start_enrollment("anon-cart", "cart", "v1", VISITOR, AT)
        session.start_enrollment("anon-welcome", "welcome", "v1", VISITOR, AT)
        session.start_enrollment("known-cart", "cart", "v1", "u1", AT + timedelta(minutes=5))
        outcome = merge_identity(session, VISITOR, "u1", "login-1", LATER)
    assert [e.enrollment_id for e in outcome.ended] == ["known-cart"]
    ended = enrollment_row(store, "known-cart")
    assert ended is not None and ended.status == "merged" and ended.ended_at == LATER
    for kept in ("anon-cart", "anon-welcome"):
        row = enrollment_row(store, kept)
        assert row is not None and row.status == "running" and row.customer_id == "u1"


def test_a_merge_into_a_customer_without_a_profile_gives_them_the_anonymous_one(store: Store) -> None:
    _browse(store)
    with store.session() as session:
        merge_identity(session, VISITOR, "u1", "login-1", LATER)
        known = session.get_profile("u1")
        merges = session.merges_into("u1")
    assert known is not None and known.traits == {"plan": "trial", "color": "blue"} and known.push_tokens == ("tok-a",)
    assert [(m.visitor_id, m.message_id) for m in merges] == [("v-1", "login-1")]


def test_the_export_lists_each_merge_with_the_anonymous_profiles_own_history(store: Store) -> None:
    _browse(store)
    with store.session() as session:
        merge_identity(session, VISITOR, "u1", "login-1", LATER)
    with store.read() as session:
        found = read_export(session, "u1")
    assert found is not None
    document = found.document(LATER)
    (merge,) = document["merges"]
    assert (merge["anonymous_id"], merge["message_id"]) == ("v-1", "login-1")
    assert [change["changes"].get("color") for change in merge["profile_history"]][:1] == ["blue"]
    assert len(document["events"]) == 3


def test_erasing_the_customer_erases_what_was_merged_into_them(store: Store) -> None:
    _browse(store)
    with store.session() as session:
        merge_identity(session, VISITOR, "u1", "login-1", LATER)
        erasure = session.begin_erasure("u1", "test", LATER)
        session.erase_customer_rows(erasure, "u1", LATER)
    assert count_rows(store, identities) == count_rows(store, events) == count_rows(store, profile_changes) == 0
