"""The profile history: each write's changed keys, and the profile as it was at any instant rebuilt from them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from orchestrator.host import retention
from orchestrator.store import MIGRATIONS, Profile, Store, StoreSession
from orchestrator.store import profile_history as history_module
from orchestrator.store.retention import RetentionPolicy
from orchestrator.store.schema import profile_changes, profiles
from tests.store.support import AT, count_rows

MINUTE = timedelta(minutes=1)


def traits_of(profile: Profile | None) -> dict[str, Any] | None:
    """What `profile_as_of` answers, read off a live profile: its traits and the fields it has, consent aside."""
    if profile is None:
        return None
    fields = {"email": profile.email, "phone": profile.phone, "timezone": profile.timezone, "locale": profile.locale}
    tokens = {"push_tokens": list(profile.push_tokens)} if profile.push_tokens else {}
    return {**profile.traits, **{key: value for key, value in fields.items() if value is not None}, **tokens}


def test_the_profile_as_of_an_instant_is_the_one_the_calls_until_then_built(store: Store) -> None:
    with store.session() as session:
        session.identify("ann", {"plan": "free", "email": "ann@Example.com", "email_opt_in": True}, AT)
        session.identify("ann", {"plan": "pro", "country": "FR"}, AT + 2 * MINUTE)
        session.update_traits("ann", {"score": 7}, ["country"], AT + 4 * MINUTE)

    with store.read() as session:
        assert session.profile_as_of("ann", AT - MINUTE) is None  # not a customer yet
        assert session.profile_as_of("ann", AT) == {"plan": "free", "email": "ann@example.com"}
        assert session.profile_as_of("ann", AT + 3 * MINUTE) == {"plan": "pro", "country": "FR", "email": "ann@example.com"}
        assert session.profile_as_of("ann", AT + 4 * MINUTE) == {"plan": "pro", "score": 7, "email": "ann@example.com"}
        assert session.profile_as_of("nobody", AT) is None


def test_each_write_records_only_the_keys_it_changed_and_where_it_came_from(store: Store) -> None:
    with store.session() as session:
        session.identify("ann", {"plan": "free", "bio": "x" * 500, "phone": "+1 415 555 2671", "sms_opt_in": True}, AT)
        session.identify("ann", {"sms_opt_in": False}, AT + MINUTE)  # consent only: the consent records keep it
        session.identify("ann", {"plan": "pro", "push_tokens": ["tok-a", "tok-b"]}, AT + 2 * MINUTE)
        session.update_traits("ann", {}, ["plan"], AT + 3 * MINUTE)
        session.remove_push_tokens("ann", ["tok-a"], AT + 4 * MINUTE)
        session.update_traits("nobody", {"plan": "pro"}, [], AT)  # no profile: left so, and nothing recorded

    with store.read() as session:
        changes = [(c.changed_at - AT, c.source, c.changes) for c in session.profile_changes_for("ann")]
        assert session.profile_changes_for("nobody") == []
    assert changes == [
        (timedelta(0), "identify", {"plan": "free", "bio": "x" * 500, "phone": "+14155552671"}),
        (2 * MINUTE, "identify", {"plan": "pro", "push_tokens": ["tok-a", "tok-b"]}),
        (3 * MINUTE, "journey_update", {"plan": None}),
        (4 * MINUTE, "push_provider", {"push_tokens": ["tok-b"]}),
    ]


def test_a_number_that_texted_stop_is_recorded_as_the_stores_own_change(store: Store) -> None:
    with store.session() as session:
        session.stop_number("+14155552671", "STOP", AT)
        session.identify("ann", {"phone": "+14155552671"}, AT + MINUTE)
    with store.read() as session:
        (_, stop) = session.profile_changes_for("ann")
        traits = session.profile_as_of("ann", AT + MINUTE)
    assert stop.source == "number_opt_out" and "sms_stopped" in stop.changes
    assert traits is not None and traits["sms_stopped"]["keyword"] == "STOP"


def test_an_update_step_timestamped_before_the_customer_existed_does_not_create_them(store: Store) -> None:
    with store.session() as session:
        session.identify("ann", {"plan": "free"}, AT)
        session.update_traits("ann", {"score": 1}, [], AT - MINUTE)  # arrives later, with an older timestamp
    with store.read() as session:
        assert session.profile_as_of("ann", AT - MINUTE) is None  # a journey's update never creates a profile
        assert session.profile_as_of("ann", AT) == {"plan": "free", "score": 1}


def test_the_bulk_read_gives_every_customers_profile_as_of_an_instant(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_module, "STREAM_ROWS", 3)  # several fetches, a customer's changes across them
    monkeypatch.setattr(history_module, "CUSTOMERS_PER_QUERY", 2)
    customers = [f"c{n}" for n in range(7)]
    with store.session() as session:
        for n, customer in enumerate(customers):
            for k in range(n % 3 + 1):
                session.identify(customer, {"visits": k, f"k{k}": n}, AT + (n + k) * MINUTE)
    at = AT + 5 * MINUTE
    with store.read() as session:
        one_by_one = {c: session.profile_as_of(c, at) for c in customers}
        bulk = dict(session.profiles_as_of(at))
        named = dict(session.profiles_as_of(at, ["c6", "c1", "c3", "c0", "unknown"]))
    assert bulk == {c: traits for c, traits in one_by_one.items() if traits is not None}
    assert set(bulk) == {"c0", "c1", "c2", "c3", "c4", "c5"}  # c6 was identified after `at`
    assert named == {c: bulk[c] for c in ("c0", "c1", "c3")}


_KEYS = st.sampled_from(["plan", "score", "country", "email", "timezone", "phone", "email_undeliverable"])
_VALUES: dict[str, Any] = {
    "plan": st.sampled_from(["free", "pro"]),
    "score": st.integers(0, 3),
    "country": st.sampled_from(["FR", "GB"]),
    "email": st.sampled_from(["a@example.com", "B@Example.com"]),
    "timezone": st.sampled_from(["Europe/Paris", "America/New_York"]),
    "phone": st.sampled_from(["+33 6 12 34 56 78", "+14155552671"]),
    "email_undeliverable": st.just(True),
}


@st.composite
def _calls(draw: st.DrawFn) -> list[tuple[str, int, dict[str, Any], list[str]]]:
    """Identify and update calls, minutes apart in any order (a sender's clock need not follow arrival)."""
    calls = []
    for _ in range(draw(st.integers(1, 7))):
        kind = draw(st.sampled_from(["identify", "update"]))
        keys = draw(st.lists(_KEYS, max_size=3, unique=True))
        unset = [key for key in keys if draw(st.booleans())] if keys else []
        values = {key: (None if kind == "identify" and key in unset else draw(_VALUES[key])) for key in keys}
        if kind == "update":
            values = {key: value for key, value in values.items() if key not in unset}
        calls.append((kind, draw(st.integers(0, 6)), values, unset if kind == "update" else []))
    return calls


def _apply(session: StoreSession, customer_id: str, call: tuple[str, int, dict[str, Any], list[str]]) -> None:
    kind, minute, values, unset = call
    if kind == "identify":
        session.identify(customer_id, values, AT + minute * MINUTE)
    else:
        session.update_traits(customer_id, values, unset, AT + minute * MINUTE)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=_calls())
def test_the_rebuilt_profile_is_the_one_a_replay_of_the_calls_until_then_builds(store: Store, calls: list[Any]) -> None:
    customer = f"c-{uuid.uuid4()}"
    with store.session() as session:
        for call in calls:
            _apply(session, customer, call)
        for minute in range(-1, 8):
            at = AT + minute * MINUTE
            replayed = f"{customer}-until-{minute}"  # a fresh customer given only the calls timestamped until `at`
            for call in calls:
                if call[1] <= minute:
                    _apply(session, replayed, call)
            assert session.profile_as_of(customer, at) == traits_of(session.get_profile(replayed)), minute
        # Every call applied: the rebuilt profile is today's.
        assert session.profile_as_of(customer, AT + 10 * MINUTE) == traits_of(session.get_profile(customer))


def test_retention_folds_old_changes_into_a_baseline_and_the_profile_in_the_window_is_unchanged(store: Store) -> None:
    now = AT + timedelta(days=500)
    cutoff = now - timedelta(days=400)
    old = cutoff - timedelta(days=30)
    with store.session() as session:
        session.identify("ann", {"plan": "free", "email": "ann@example.com", "email_undeliverable": True}, old)
        session.identify("ann", {"score": 1, "country": "FR"}, old + MINUTE)
        session.update_traits("ann", {}, ["country"], old + 2 * MINUTE)
        session.identify("ann", {"plan": "pro"}, cutoff + MINUTE)  # in the window: kept as it is
        session.identify("ann", {"plan": "team"}, old + 3 * MINUTE)  # arrived after a kept change: must still apply after it
        session.identify("bob", {"plan": "free"}, cutoff + MINUTE)  # nothing old: untouched
    instants = [cutoff, cutoff + MINUTE, cutoff + 2 * MINUTE, now]
    with store.read() as session:
        before = {(c, at): session.profile_as_of(c, at) for c in ("ann", "bob") for at in instants}

    policy = RetentionPolicy(events=timedelta(days=400), messages=None, enrollments=None)
    assert retention.prune(store, policy, now)["profile_histories"] == 1
    assert retention.prune(store, policy, now)["profile_histories"] == 0  # a baseline is not folded again

    with store.read() as session:
        after = {(c, at): session.profile_as_of(c, at) for c in ("ann", "bob") for at in instants}
        sources = [c.source for c in session.profile_changes_for("ann")]
    assert after == before
    assert before[("ann", cutoff)] == {"plan": "team", "score": 1, "email": "ann@example.com", "email_undeliverable": True}
    assert sources == ["baseline", "identify", "identify"]
    assert count_rows(store, profile_changes) == 4


def test_erasure_deletes_the_customers_profile_history(store: Store) -> None:
    with store.session() as session:
        session.identify("ann", {"plan": "free"}, AT)
        session.identify("bob", {"plan": "free"}, AT)
        erasure = session.begin_erasure("ann", "cli", AT)
        removed = session.erase_customer_rows(erasure, "ann", AT)
    assert removed["profile_changes"] == 1
    with store.read() as session:
        assert session.profile_as_of("ann", AT) is None
        assert session.profile_as_of("bob", AT) == {"plan": "free"}


def test_a_profile_from_before_the_history_is_rebuilt_from_its_last_write_on(database_url: str) -> None:
    store = Store(database_url)
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with store.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0012")
            row = {"customer_id": "ann", "email": "ann@example.com", "phone": None, "push_tokens": ["tok-a"], "timezone": None}
            row |= {"locale": None, "email_opt_in": True, "sms_opt_in": True, "push_opt_in": True, "traits": {"plan": "pro"}}
            connection.execute(insert(profiles).values(row | {"created_at": AT - MINUTE, "updated_at": AT}))
        store.migrate()
        with store.read() as session:
            assert session.profile_as_of("ann", AT - MINUTE) is None  # nothing was recorded before its last write
            assert session.profile_as_of("ann", AT) == {"plan": "pro", "email": "ann@example.com", "push_tokens": ["tok-a"]}
            assert [c.source for c in session.profile_changes_for("ann")] == ["baseline"]
    finally:
        store.dispose()
