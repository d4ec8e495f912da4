"""Applying identify traits to a profile (Segment semantics), as a pure function.

Traits merge into the stored traits and a null value removes one. A few keys are
reserved: they are validated, normalized and kept in fields of their own instead
of traits, so a template's `customer.phone` is always E.164 and
`customer.timezone` always a real zone. Everything is validated before the
store writes anything: a bad value raises `ProfileFieldError` naming the key.
The validators live in `orchestrator/language/traits.py`, where the compiler
checks a journey's literal `update` values with them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from orchestrator.language import traits as trait_values
from orchestrator.language.traits import OPT_IN_TRAITS, RESERVED_TRAITS, UNDELIVERABLE_TRAITS
from orchestrator.language.traits import SMS_STOP_TRAIT as SMS_STOP_TRAIT  # imported from here by webhooks and the gate
from orchestrator.store.values import DEFAULT_CONSENT, Profile, ProfileFieldError


def new_profile(customer_id: str, at: datetime) -> Profile:
    """A profile nobody has identified yet: no addresses, default consent."""
    return Profile(
        customer_id=customer_id,
        email=None,
        phone=None,
        push_tokens=(),
        timezone=None,
        locale=None,
        consent=dict(DEFAULT_CONSENT),
        traits={},
        created_at=at,
        updated_at=at,
    )


def apply_traits(profile: Profile, changes: Mapping[str, Any], at: datetime) -> Profile:
    """`profile` with `changes` applied (None removes); raises ProfileFieldError on the first bad value."""
    return apply_stored_values(profile, stored_values(profile, changes), at)


def stored_values(profile: Profile, changes: Mapping[str, Any]) -> dict[str, Any]:
    """`changes` validated into the values the profile stores (a phone in E.164, traits as JSON reads them back; None
    still removes); raises ProfileFieldError on the first bad value."""
    stored: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in RESERVED_TRAITS:
            stored[key] = None if value is None else _json_value(key, value)
    # A `country` sent in the same call decides how `phone` is read.
    country = stored["country"] if "country" in stored else profile.traits.get("country")
    for key, value in changes.items():
        if key not in RESERVED_TRAITS:
            continue
        if value is None:
            stored[key] = None
        elif key == "phone":
            stored[key] = trait_values.phone(value, country)
        elif key == "push_tokens":
            stored[key] = trait_values.push_tokens(value)
        elif key in trait_values.FIELD_VALIDATORS:
            stored[key] = trait_values.FIELD_VALIDATORS[key](value)
        else:
            stored[key] = trait_values.flag(key, value)
    return stored


def apply_stored_values(profile: Profile, stored: Mapping[str, Any], at: datetime) -> Profile:
    """`profile` with values already validated (`stored_values`, or a profile change recorded from them) applied."""
    traits = dict(profile.traits)
    fields: dict[str, Any] = {}
    consent = dict(profile.consent)
    for key, value in stored.items():
        if key not in RESERVED_TRAITS:
            if value is None:
                traits.pop(key, None)
            else:
                traits[key] = value
        elif key == "push_tokens":
            fields[key] = () if value is None else tuple(value)
        elif key in trait_values.FIELD_VALIDATORS:
            fields[key] = value
        else:
            channel = OPT_IN_TRAITS[key]
            # A null answer forgets the customer's choice: back to the default (no SMS without opt-in).
            consent[channel] = DEFAULT_CONSENT[channel] if value is None else value
    # An undeliverable flag (hard bounce, spam complaint) is about one address: a new address starts clean.
    # So is a texted STOP: it was sent from the old number.
    for field, flag in (*UNDELIVERABLE_TRAITS.items(), ("phone", SMS_STOP_TRAIT)):
        if field in fields and fields[field] != getattr(profile, field) and flag not in stored:
            traits.pop(flag, None)
    return replace(profile, **fields, consent=consent, traits=traits, updated_at=max(profile.updated_at, at))


class ProfileFieldErrors(ProfileFieldError):
    """Every value of one call the profile refuses; `field` and `message` are the first one's."""

    def __init__(self, errors: Sequence[ProfileFieldError]) -> None:
        super().__init__(errors[0].field, errors[0].message)
        self.errors = list(errors)
        self.args = ("; ".join(str(e) for e in self.errors),)


def apply_all_traits(profile: Profile, changes: Mapping[str, Any], at: datetime) -> Profile:
    """`apply_traits`, whose refusal lists every bad value (ProfileFieldErrors), not only the first.

    Only a refused call pays for the listing: each plain trait is then tried alone, and each
    reserved one with the plain traits that passed (a `country` reads `phone` as in the call).
    """
    try:
        return apply_traits(profile, changes, at)
    except ProfileFieldError as exc:
        first = exc
    errors: list[ProfileFieldError] = []
    accepted: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in RESERVED_TRAITS:
            refused = _refusal(profile, {key: value}, at)
            errors += refused
            if not refused:
                accepted[key] = value
    for key, value in changes.items():
        if key in RESERVED_TRAITS:
            errors += _refusal(profile, {**accepted, key: value}, at)
    raise ProfileFieldErrors(errors or [first])


def _refusal(profile: Profile, changes: Mapping[str, Any], at: datetime) -> list[ProfileFieldError]:
    try:
        apply_traits(profile, changes, at)
    except ProfileFieldError as exc:
        return [exc]
    return []


def stop_record(keyword: str, at: datetime, sms_opt_in_before: bool) -> dict[str, Any]:
    """The `sms_stopped` trait: when, which keyword, and the SMS consent a START restores."""
    return {"at": at.isoformat(), "keyword": keyword, "sms_opt_in_before": sms_opt_in_before}


def with_number_stop(profile: Profile, keyword: str, at: datetime) -> Profile:
    """`profile`, whose number texted STOP before it was theirs: stopped, as if they had texted it."""
    traits = {**profile.traits, SMS_STOP_TRAIT: stop_record(keyword, at, bool(profile.consent.get("sms")))}
    return replace(profile, traits=traits, consent={**profile.consent, "sms": False})


def json_default(value: Any) -> Any:
    """How values that JSON has no type for are stored: dates as ISO 8601, decimals as numbers."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """The store's JSON encoder (also the engine's): strict, no NaN (PostgreSQL's jsonb refuses it)."""
    return json.dumps(value, default=json_default, allow_nan=False, ensure_ascii=False, separators=(",", ":"))


def _json_value(key: str, value: Any) -> Any:
    try:
        return json.loads(dumps(value))
    except (TypeError, ValueError) as exc:
        raise ProfileFieldError(key, f"cannot be stored as JSON ({exc})") from None
