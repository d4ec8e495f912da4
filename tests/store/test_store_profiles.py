"""Profiles: identify (Segment-style merge, validated reserved traits, consent), update_traits, push tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from orchestrator.store import ProfileFieldError, Store
from orchestrator.store.schema import profiles
from tests.store.support import AT, count_rows

LATER = AT + timedelta(minutes=5)


def _profile(store: Store, customer_id: str = "c1") -> Any:
    with store.session() as session:
        return session.get_profile(customer_id)


def test_identify_creates_the_profile_and_returns_no_before(store: Store) -> None:
    with store.session() as session:
        before, after = session.identify("c1", {"first_name": "Ada", "plan": "pro"}, AT)
    assert before is None
    assert after.customer_id == "c1"
    assert after.traits == {"first_name": "Ada", "plan": "pro"}
    assert after.created_at == after.updated_at == AT
    assert _profile(store) == after
    assert count_rows(store, profiles) == 1


def test_identify_merges_traits_into_the_stored_ones_and_returns_before_and_after(store: Store) -> None:
    with store.session() as session:
        session.identify("c1", {"first_name": "Ada", "plan": "pro", "address": {"city": "London"}}, AT)
    with store.session() as session:
        before, after = session.identify("c1", {"plan": "team", "age": 36}, LATER)
    assert before is not None and before.traits == {"first_name": "Ada", "plan": "pro", "address": {"city": "London"}}
    assert after.traits == {"first_name": "Ada", "plan": "team", "address": {"city": "London"}, "age": 36}
    assert after.created_at == AT and after.updated_at == LATER
    assert _profile(store) == after


def test_identify_with_a_null_trait_removes_it(store: Store) -> None:
    with store.session() as session:
        session.identify("c1", {"first_name": "Ada", "plan": "pro"}, AT)
        _, after = session.identify("c1", {"plan": None, "never_set": None}, LATER)
    assert after.traits == {"first_name": "Ada"}
    assert _profile(store).traits == {"first_name": "Ada"}


def test_identify_normalizes_the_email_and_keeps_it_out_of_traits(store: Store) -> None:
    with store.session() as session:
        _, after = session.identify("c1", {"email": "  Ada.Lovelace@Example.COM "}, AT)
    assert after.email == "Ada.Lovelace@example.com"
    assert "email" not in after.traits
    assert _profile(store).email == "Ada.Lovelace@example.com"


@pytest.mark.parametrize(
    ("traits", "expected"),
    [
        ({"phone": "(415) 555-2671"}, "+14155552671"),
        ({"phone": "+44 20 7946 0018"}, "+442079460018"),
        ({"country": "GB", "phone": "020 7946 0018"}, "+442079460018"),
    ],
    ids=["us-default", "international", "country-trait-region"],
)
def test_identify_stores_phone_numbers_as_e164(store: Store, traits: dict[str, Any], expected: str) -> None:
    with store.session() as session:
        _, after = session.identify("c1", traits, AT)
    assert after.phone == expected
    assert _profile(store).phone == expected


def test_identify_stores_timezone_and_locale_fields(store: Store) -> None:
    with store.session() as session:
        _, after = session.identify("c1", {"timezone": "Europe/Paris", "locale": "pt-BR"}, AT)
    stored = _profile(store)
    assert (after.timezone, after.locale) == (stored.timezone, stored.locale) == ("Europe/Paris", "pt-BR")
    assert stored.traits == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "ada-at-example.com"),
        ("email", 42),
        ("phone", "12"),
        ("phone", "(415) 555-267"),
        ("timezone", "Mars/Olympus_Mons"),
        ("locale", "english please"),
        ("push_tokens", "one-token-not-a-list"),
        ("sms_opt_in", "yes"),
    ],
)
def test_identify_with_a_bad_value_raises_naming_the_field_and_writes_nothing(store: Store, field: str, value: Any) -> None:
    good = {"email": "ada@example.com", "phone": "+14155552671", "timezone": "America/New_York", "locale": "en-US", "plan": "pro"}
    with store.session() as session:
        _, existing = session.identify("c1", good, AT)
    with store.session() as session:
        for customer_id in ("c1", "new-customer"):
            with pytest.raises(ProfileFieldError) as raised:
                # A valid trait in the same call must not be applied either.
                session.identify(customer_id, {"plan": "team", field: value}, LATER)
            assert raised.value.field == field
            assert str(raised.value).startswith(f"{field}: ")
        # Caught inside the transaction, which then commits: the store itself must not have written.
    assert _profile(store) == existing
    assert _profile(store, "new-customer") is None
    assert count_rows(store, profiles) == 1


def test_new_profiles_get_the_default_consent(store: Store) -> None:
    with store.session() as session:
        _, after = session.identify("c1", {}, AT)
    assert after.consent == {"email": True, "sms": False, "push": True}
    assert _profile(store).consent == {"email": True, "sms": False, "push": True}


def test_opt_in_traits_change_consent_and_null_restores_the_default(store: Store) -> None:
    with store.session() as session:
        _, opted = session.identify("c1", {"sms_opt_in": True, "email_opt_in": False}, AT)
    assert opted.consent == {"email": False, "sms": True, "push": True}
    assert _profile(store).consent == opted.consent
    assert "sms_opt_in" not in opted.traits
    with store.session() as session:
        _, reset = session.identify("c1", {"sms_opt_in": None, "push_opt_in": False}, LATER)
    assert reset.consent == {"email": False, "sms": False, "push": False}
    assert _profile(store).consent == reset.consent


def test_identify_stores_push_tokens_once_each_in_order(store: Store) -> None:
    with store.session() as session:
        _, after = session.identify("c1", {"push_tokens": ["tok-b", "tok-a", "tok-b"]}, AT)
    assert after.push_tokens == ("tok-b", "tok-a")
    assert _profile(store).push_tokens == ("tok-b", "tok-a")
    with store.session() as session:
        _, cleared = session.identify("c1", {"push_tokens": None}, LATER)
    assert cleared.push_tokens == () == _profile(store).push_tokens


def test_update_traits_sets_and_unsets(store: Store) -> None:
    with store.session() as session:
        session.identify("c1", {"first_name": "Ada", "plan": "pro", "cart": 3}, AT)
    with store.session() as session:
        after = session.update_traits(
            "c1", {"plan": "team", "last_step": "reminder", "email": "ADA@EXAMPLE.COM"}, ["cart", "absent"], LATER
        )
    assert after is not None and after.traits == {"first_name": "Ada", "plan": "team", "last_step": "reminder"}
    assert after.email == "ADA@example.com"
    assert _profile(store) == after


def test_update_traits_with_a_bad_value_writes_nothing(store: Store) -> None:
    with store.session() as session:
        _, existing = session.identify("c1", {"plan": "pro"}, AT)
        with pytest.raises(ProfileFieldError, match=r"^timezone: "):
            session.update_traits("c1", {"plan": "team", "timezone": "Nowhere/Else"}, ["plan"], LATER)
    assert _profile(store) == existing


def test_remove_push_tokens_forgets_only_those_tokens(store: Store) -> None:
    with store.session() as session:
        session.identify("c1", {"push_tokens": ["tok-a", "tok-b", "tok-c", "tok-d"]}, AT)
    with store.session() as session:
        session.remove_push_tokens("c1", ["tok-b", "unknown-token", "tok-d"], AT)
        session.remove_push_tokens("c1", ["unknown-token"], AT)
        session.remove_push_tokens("c1", [], AT)
        session.remove_push_tokens("no-such-customer", ["tok-a"], AT)
    assert _profile(store).push_tokens == ("tok-a", "tok-c")
    assert _profile(store, "no-such-customer") is None


def test_template_context_is_a_deep_copy_a_template_caller_may_change(store: Store) -> None:
    """What templates see as `customer`: traits and fields; changing it, at any depth, leaves the profile as it was."""
    with store.session() as session:
        _, profile = session.identify("c1", {"email": "ada@example.com", "plan": {"tier": "pro", "tags": ["a"]}}, AT)
    context = profile.template_context()
    assert context["plan"] == {"tier": "pro", "tags": ["a"]} and context["email"] == "ada@example.com"
    context["plan"]["tags"].append("b")
    context["plan"]["tier"] = "free"
    context["push_tokens"].append("t")
    assert profile.traits == {"plan": {"tier": "pro", "tags": ["a"]}}
    assert profile.push_tokens == ()
    assert _profile(store).template_context()["plan"] == {"tier": "pro", "tags": ["a"]}
