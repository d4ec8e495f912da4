"""Consent records: every change of consent is kept with its source and evidence, in the profile's transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator.store import Store
from orchestrator.store.profiles import ProfileFieldErrors
from orchestrator.store.values import ConsentEvidence, ConsentRecord
from tests.store.support import AT

LATER = AT + timedelta(minutes=5)


def records(store: Store, customer_id: str) -> list[tuple[str, bool, str, str | None, str | None]]:
    with store.read() as session:
        return [(r.channel, r.opted_in, r.source, r.evidence, r.detail) for r in session.consent_records_for(customer_id)]


def identify(store: Store, customer_id: str, traits: dict[str, object], evidence: str, at=AT) -> None:  # type: ignore[no-untyped-def]
    with store.session() as session:
        session.identify(customer_id, traits, at, ConsentEvidence("identify", evidence, at + timedelta(seconds=1)))


def test_an_identify_that_changes_consent_is_recorded_with_its_message_id_and_times(store: Store) -> None:
    identify(store, "ann", {"email": "ann@example.com", "sms_opt_in": True}, "msg-1")
    identify(store, "ann", {"email_opt_in": False}, "msg-2", at=LATER)
    with store.read() as session:
        found = session.consent_records_for("ann")
    assert found == [
        ConsentRecord("ann", "sms", True, "identify", "msg-1", None, AT, AT + timedelta(seconds=1)),
        ConsentRecord("ann", "email", False, "identify", "msg-2", None, LATER, LATER + timedelta(seconds=1)),
    ]


def test_the_first_stated_answer_is_recorded_even_when_it_is_the_default_and_repeats_are_not(store: Store) -> None:
    identify(store, "ann", {"email": "ann@example.com"}, "msg-1")  # nobody said anything: the default is no record
    assert records(store, "ann") == []
    identify(store, "ann", {"email_opt_in": True}, "msg-2")  # said for the first time, same as the default
    identify(store, "ann", {"email_opt_in": True, "plan": "pro"}, "msg-3")  # a CRM sync repeating it
    assert records(store, "ann") == [("email", True, "identify", "msg-2", None)]


def test_the_same_evidence_twice_records_once(store: Store) -> None:
    identify(store, "ann", {"email_opt_in": False}, "msg-1")
    identify(store, "ann", {"email_opt_in": True}, "msg-2")
    identify(store, "ann", {"email_opt_in": False}, "msg-1")  # replayed after its event was pruned
    assert records(store, "ann") == [("email", False, "identify", "msg-1", None), ("email", True, "identify", "msg-2", None)]


def test_a_number_that_texted_stop_is_recorded_as_the_reason_its_new_owner_is_stopped(store: Store) -> None:
    with store.session() as session:
        session.stop_number("+14155552671", "STOP", AT)
    identify(store, "dan", {"phone": "+14155552671", "sms_opt_in": True}, "msg-1", at=LATER)
    assert records(store, "dan") == [
        ("sms", True, "identify", "msg-1", None),  # what dan said
        ("sms", False, "number_opt_out", "msg-1", "STOP"),  # and why SMS stays off
    ]


def test_a_refused_identify_records_nothing(store: Store) -> None:
    with pytest.raises(ProfileFieldErrors):
        identify(store, "ann", {"email_opt_in": False, "email": "not an address"}, "msg-1")
    assert records(store, "ann") == []
