"""Reading and writing the `profiles` table, and turning its rows into `Profile` values.

The rules of a profile change (Segment's identify, reserved traits, consent) are pure functions
in orchestrator/store/profiles.py; this module loads the row, applies them, and writes the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, select, update

from orchestrator.store import profiles as profile_rules
from orchestrator.store.consent import ERASED_ADDRESS, NUMBER_OPT_OUT, ConsentQueries, caused_by_store, stated_channels
from orchestrator.store.events import EVENT_BATCH
from orchestrator.store.number_opt_outs import NumberOptOutQueries
from orchestrator.store.prepared import Prepared
from orchestrator.store.profile_history import ProfileHistoryQueries
from orchestrator.store.profile_timeline import CHANGES_ONLY, JOURNEY_UPDATE, PUSH_PROVIDER, recorded_changes
from orchestrator.store.profiles import SMS_STOP_TRAIT
from orchestrator.store.schema import profiles as profiles_table
from orchestrator.store.schema import utc
from orchestrator.store.values import ConsentEvidence, Profile

PROFILE_COLUMNS = (
    "email", "phone", "push_tokens", "timezone", "locale", "email_opt_in", "sms_opt_in", "push_opt_in", "traits",
    "created_at", "updated_at",
)  # fmt: skip
"""The profile's columns after `customer_id`, in `profile_from_columns`' order (the gate's facts pack them so too)."""


class ProfileQueries(NumberOptOutQueries, ConsentQueries, ProfileHistoryQueries):
    """Profiles by customer id; a profile that gets a number which texted STOP is stopped (hence the opt-outs), one that
    gets an erased address starts without consent (hence the suppressions, through the opt-outs); every change of
    consent is recorded with the profile's (hence the consent records), and every change of its traits and fields
    in the profile history (the profile as it was at an instant, for a backtest)."""

    def get_profile(self, customer_id: str) -> Profile | None:
        row = _SELECT_PROFILE.first(self._conn, {"profile_customer_id": customer_id})
        return profile_from_row(row) if row else None

    def profiles_of(self, customer_ids: Sequence[str]) -> dict[str, Profile]:
        """The profiles of those of `customer_ids` that have one, by id: one read per EVENT_BATCH ids (a broadcast page)."""
        wanted = list(dict.fromkeys(customer_ids))
        found: dict[str, Profile] = {}
        for start in range(0, len(wanted), EVENT_BATCH):
            query = select(profiles_table).where(profiles_table.c.customer_id.in_(wanted[start : start + EVENT_BATCH]))
            found.update((row.customer_id, profile_from_row(row)) for row in self._conn.execute(query))
        return found

    def identify(
        self, customer_id: str, traits: dict[str, Any], at: datetime, evidence: ConsentEvidence | None = None
    ) -> tuple[Profile | None, Profile]:
        """Merge `traits` into the profile (created if new), Segment-style; returns (before, after).

        A null trait removes it; reserved traits (email, phone, timezone, locale, push_tokens,
        *_opt_in) are validated into fields. Bad values raise ProfileFieldErrors listing them all, writing nothing.
        A change of consent is recorded with `evidence` (default: an identify call without a message id, received `at`).
        """
        evidence = evidence or ConsentEvidence("identify", None, at)
        return self._change_profile(customer_id, at, traits, evidence, evidence.source)

    def update_traits(
        self, customer_id: str, set: dict[str, Any], unset: Sequence[str], at: datetime, evidence: ConsentEvidence | None = None
    ) -> Profile | None:
        """A journey's `update` step: `set` as in identify, then remove each `unset` name.

        A customer without a profile is left so (None): every enrolled customer has one, unless they were
        erased while the step ran, and a journey must not bring them back.
        """
        changes: dict[str, Any] = {**set, **dict.fromkeys(unset)}
        if self._load_profile_for_update(customer_id) is None:
            utc(at, "at")  # a naive time is a bug in the caller, profile or not
            return None
        evidence = evidence or ConsentEvidence(JOURNEY_UPDATE, None, at)
        return self._change_profile(customer_id, at, changes, evidence, JOURNEY_UPDATE)[1]

    def remove_push_tokens(self, customer_id: str, tokens: Sequence[str], at: datetime) -> None:
        """Forget tokens the push provider reported as invalid (`at`, when it did); unknown ones (and an unknown
        customer) are ignored."""
        if not tokens:
            return
        profile = self._load_profile_for_update(customer_id)
        if profile is None:
            return
        remaining = [t for t in profile.push_tokens if t not in tokens]
        if len(remaining) == len(profile.push_tokens):
            return
        self._conn.execute(update(profiles_table).where(profiles_table.c.customer_id == customer_id).values(push_tokens=remaining))
        self.record_profile_change(customer_id, at, PUSH_PROVIDER, {"push_tokens": remaining or None})

    def customer_ids(self, *, after: str | None, limit: int) -> list[str]:
        """Up to `limit` customer ids in id order, starting after `after`: one page of a broadcast."""
        query = select(profiles_table.c.customer_id).order_by(profiles_table.c.customer_id).limit(limit)
        if after is not None:
            query = query.where(profiles_table.c.customer_id > after)
        return list(self._conn.execute(query).scalars())

    def customers_with_phone(self, phone: str) -> list[Profile]:
        """Profiles whose number is `phone` (E.164), in customer id order: who texted an inbound SMS."""
        query = select(profiles_table).where(profiles_table.c.phone == phone).order_by(profiles_table.c.customer_id)
        return [profile_from_row(row) for row in self._conn.execute(query)]

    def _load_profile_for_update(self, customer_id: str) -> Profile | None:
        # FOR UPDATE (PostgreSQL; SQLite's IMMEDIATE transaction already excludes other writers):
        # two sessions changing one profile without lock_customer still cannot lose an update.
        query = select(profiles_table).where(profiles_table.c.customer_id == customer_id).with_for_update()
        row = self._conn.execute(query).one_or_none()
        return profile_from_row(row) if row else None

    def _change_profile(
        self, customer_id: str, at: datetime, changes: dict[str, Any], evidence: ConsentEvidence, source: str
    ) -> tuple[Profile | None, Profile]:
        """Apply `changes`, record them in the profile history as `source`'s and the consent they change; (before, after)."""
        at = utc(at, "at")
        for _ in range(2):
            before = self._load_profile_for_update(customer_id)
            stated = profile_rules.apply_all_traits(before or profile_rules.new_profile(customer_id, at), changes, at)  # raises first
            after, stopped_by = self._with_number_opt_out(before, stated)
            kept, suppressed = self.with_suppressions(before, after, changes, at)
            values = _profile_values(kept)
            if before is not None:
                self._conn.execute(update(profiles_table).where(profiles_table.c.customer_id == customer_id).values(values))
            elif not self._insert_new(self._insert(profiles_table).values(customer_id=customer_id, **values).on_conflict_do_nothing()):
                continue  # another session created the profile between our read and insert: apply on top of it
            recorded = recorded_changes(changes, stated)
            # An identify call makes the customer exist from its instant, even with nothing to record: a new profile,
            # or one whose timestamp is older than the profile's creation (the sender's clock need not follow arrival).
            if recorded or before is None or (source not in CHANGES_ONLY and at < before.created_at):
                self.record_profile_change(customer_id, at, source, recorded)
            self.record_consent(before, stated, stated_channels(changes), evidence, at)
            if stopped_by is not None:
                self.record_profile_change(customer_id, at, NUMBER_OPT_OUT, {SMS_STOP_TRAIT: after.traits[SMS_STOP_TRAIT]})
                self.record_consent(stated, after, (), caused_by_store(evidence, NUMBER_OPT_OUT, stopped_by), at)
            if suppressed is not None:
                self.record_consent(after, kept, (), caused_by_store(evidence, ERASED_ADDRESS, None), at)
            return before, kept
        raise RuntimeError(f"profile {customer_id!r} vanished while being changed")  # pragma: no cover - profiles are never deleted

    def _with_number_opt_out(self, before: Profile | None, after: Profile) -> tuple[Profile, str | None]:
        """`after`, stopped if it gets a number that texted STOP and never START (docs/delivery.md, "STOP"), and the keyword if so."""
        if after.phone is None or after.traits.get(SMS_STOP_TRAIT) or (before is not None and before.phone == after.phone):
            return after, None
        opt_out = self.number_opt_out(after.phone)
        return (after, None) if opt_out is None else (profile_rules.with_number_stop(after, *opt_out), opt_out[0])


def profile_from_row(row: Row[Any]) -> Profile:
    return profile_from_columns(row.customer_id, *(getattr(row, name) for name in PROFILE_COLUMNS))


def profile_from_columns(
    customer_id: str,
    email: str | None,
    phone: str | None,
    push_tokens: Sequence[str],
    timezone: str | None,
    locale: str | None,
    email_opt_in: Any,
    sms_opt_in: Any,
    push_opt_in: Any,
    traits: Mapping[str, Any],
    created_at: datetime,
    updated_at: datetime,
) -> Profile:
    """A `Profile` from its stored columns (opt-ins as the database gives booleans: 0/1 on SQLite)."""
    return Profile(
        customer_id=customer_id,
        email=email,
        phone=phone,
        push_tokens=tuple(push_tokens),
        timezone=timezone,
        locale=locale,
        consent={"email": bool(email_opt_in), "sms": bool(sms_opt_in), "push": bool(push_opt_in)},
        traits=dict(traits),
        created_at=created_at,
        updated_at=updated_at,
    )


def _profile_values(profile: Profile) -> dict[str, Any]:
    return {
        "email": profile.email,
        "phone": profile.phone,
        "push_tokens": list(profile.push_tokens),
        "timezone": profile.timezone,
        "locale": profile.locale,
        "email_opt_in": profile.consent["email"],
        "sms_opt_in": profile.consent["sms"],
        "push_opt_in": profile.consent["push"],
        "traits": profile.traits,
        "created_at": profile.created_at,
        "updated_at": profile.updated_at,
    }


_SELECT_PROFILE = Prepared(select(profiles_table).where(profiles_table.c.customer_id == bindparam("profile_customer_id")))
