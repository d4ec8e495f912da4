"""A customer's profile as it was at any instant, rebuilt from the changes recorded with each profile write (pure).

Each identify call, each journey `update` step and each change the store makes on its own (a number that
texted STOP, push tokens the provider refused) records one `ProfileChange`: the keys the write named, in
identify's vocabulary, with the value the profile stored (validated and normalized: a phone in E.164) or
None where it removed the key. Not a copy of the profile: a profile with many traits changed by one key
costs one key (docs/architecture.md, "Profiles as they were").

The rule of time is the profile's own: a write is applied in the order it arrived, whatever its timestamp
(an identify call with an older timestamp still changes the profile; only `updated_at` keeps the newest).
So the profile as of `at` is every change whose instant is at or before `at`, applied in arrival order with
the same function that applied them live (orchestrator/store/profiles.py `apply_stored_values`, which also
clears an undeliverable flag when its address changes): the profile a replay of only those writes would build.

Consent is not in these changes: the consent records keep its history (orchestrator/store/consent.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from orchestrator.language.traits import FIELD_VALIDATORS, OPT_IN_TRAITS
from orchestrator.store import profiles as profile_rules
from orchestrator.store.consent import NUMBER_OPT_OUT
from orchestrator.store.values import Profile, ProfileChange

JOURNEY_UPDATE: Final = "journey_update"
"""The source of a journey's `update` step."""
PUSH_PROVIDER: Final = "push_provider"
"""The source of a change that forgets push tokens the provider refused."""
CHANGES_ONLY: Final = frozenset({JOURNEY_UPDATE, PUSH_PROVIDER, NUMBER_OPT_OUT})
"""Sources that change a profile and never create one: live, they leave a customer without a profile so (an erased
customer stays erased; a STOP follows the write that set the number); rebuilt, they are skipped until the customer
exists at that instant, as a replay would."""
BASELINE: Final = "baseline"
"""The source of a change that stands for the changes retention pruned: the profile they had built, every key set."""


def recorded_changes(changes: Mapping[str, Any], stated: Profile) -> dict[str, Any]:
    """What a write records: each key it named, with the value `stated` (the profile after it) keeps, None if removed.

    The opt-ins are left out (the consent records keep them). A field's value is the validated one, so that
    applying it again never depends on the rest of the profile (a phone read in the `country` of the time).
    """
    recorded: dict[str, Any] = {}
    for key, value in changes.items():
        if key in OPT_IN_TRAITS:
            continue
        if key == "push_tokens":
            recorded[key] = list(stated.push_tokens) or None
        elif key in FIELD_VALIDATORS:
            recorded[key] = getattr(stated, key)
        else:
            recorded[key] = None if value is None else stated.traits.get(key)
    return recorded


def state_changes(profile: Profile) -> dict[str, Any]:
    """The profile's traits and fields as one set of changes that builds it from nothing (a baseline's)."""
    fields = {key: getattr(profile, key) for key in FIELD_VALIDATORS if key != "push_tokens"}
    if profile.push_tokens:
        fields["push_tokens"] = list(profile.push_tokens)
    return {**profile.traits, **{key: value for key, value in fields.items() if value is not None}}


def fold(customer_id: str, changes: Iterable[ProfileChange], at: datetime | None) -> Profile | None:
    """The profile built by the `changes` (in arrival order) whose instant is at or before `at` (all if None);
    None if none of them creates it: the customer did not exist yet. Consent is the default: read it from the consent records."""
    profile: Profile | None = None
    for change in changes:
        if at is not None and change.changed_at > at:
            continue
        if profile is None:
            if change.source in CHANGES_ONLY:
                continue
            profile = profile_rules.new_profile(customer_id, change.changed_at)
        # Stored values, validated when they were written: applied as they are (a validator's cost is paid once).
        profile = profile_rules.apply_stored_values(profile, change.changes, change.changed_at)
    return profile


def as_identified(profile: Profile | None) -> dict[str, Any] | None:
    """The profile in identify's vocabulary: its traits and the fields it has (email, phone, timezone, locale, push_tokens)."""
    return None if profile is None else state_changes(profile)


@dataclass(frozen=True)
class ProfileTimeline:
    """One customer's recorded changes, in arrival order: their profile at any instant, without asking the store again."""

    customer_id: str
    changes: Sequence[ProfileChange]

    def profile_as_of(self, at: datetime) -> Profile | None:
        return fold(self.customer_id, self.changes, at)

    def traits_as_of(self, at: datetime) -> dict[str, Any] | None:
        """`StoreSession.profile_as_of`'s answer, for this customer."""
        return as_identified(self.profile_as_of(at))
