"""Suppression entries: the addresses of erased customers, kept as keyed hashes, so that they are not messaged again unasked.

Erasure removes everything the store held about a customer, but the address itself must not
come back into a journey through a later import (a CRM sync, a Segment replay) as if nothing
had happened. So each address goes on as an entry keyed by its keyed hash
(orchestrator/store/hashes.py) and the time of the erasure, and a profile that gets a
suppressed address starts without marketing consent on its channel, unless the same call gives
it: new consent is an identify whose `<channel>_opt_in` is true, timestamped after the erasure
(docs/privacy.md, "Erasure"). A later identify that opts in works as always. A number that had
texted STOP keeps it: a profile that gets it starts stopped, until START from it, as
number_opt_outs.py does for numbers in clear.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from orchestrator.language.traits import OPT_IN_TRAITS
from orchestrator.store import profiles as profile_rules
from orchestrator.store.hashes import address_hash
from orchestrator.store.queries import Queries
from orchestrator.store.schema import suppressions, utc
from orchestrator.store.values import Profile

_TRAIT_OF = {channel: trait for trait, channel in OPT_IN_TRAITS.items()}


class SuppressionQueries(Queries):
    """The `suppressions` table: written by erasure (orchestrator/store/erasure.py), read when a profile gets an address."""

    def suppress_address(self, channel: str, address: str, at: datetime, stop_keyword: str | None = None) -> None:
        """Keep `address` of `channel` suppressed from `at` (a second erasure of it moves the time on)."""
        key = address_hash(self._secret, channel, address)
        values = {"address_hash": key, "channel": channel, "suppressed_at": utc(at, "at"), "stop_keyword": stop_keyword}
        statement = self._insert(suppressions).values(values)
        self._conn.execute(
            statement.on_conflict_do_update(
                index_elements=[suppressions.c.address_hash],
                set_={"suppressed_at": statement.excluded.suppressed_at, "stop_keyword": statement.excluded.stop_keyword},
            )
        )

    def suppression(self, channel: str, address: str) -> tuple[datetime, str | None] | None:
        """(when, the STOP keyword if the number had texted one) of a suppressed address; None if it is not."""
        query = select(suppressions.c.suppressed_at, suppressions.c.stop_keyword).where(
            suppressions.c.address_hash == address_hash(self._secret, channel, address)
        )
        row = self._conn.execute(query).first()
        return (row.suppressed_at, row.stop_keyword) if row is not None else None

    def lift_suppressed_stop(self, phone: str) -> None:
        """The number texted START: a profile that gets it later is no longer stopped (it still needs new consent)."""
        self._conn.execute(
            update(suppressions).where(suppressions.c.address_hash == address_hash(self._secret, "sms", phone)).values(stop_keyword=None)
        )

    def with_suppressions(
        self, before: Profile | None, after: Profile, changes: Mapping[str, Any], at: datetime
    ) -> tuple[Profile, str | None]:
        """`after`, without marketing consent on each channel where it gets a suppressed address the call gives no new
        consent for (and stopped, if the number had texted STOP); and the channels it changed, if any."""
        changed: list[str] = []
        for channel, address in _new_addresses(before, after):
            found = self.suppression(channel, address)
            if found is None:
                continue
            suppressed_at, stop_keyword = found
            if channel == "sms" and stop_keyword is not None:
                after = profile_rules.with_number_stop(after, stop_keyword, suppressed_at)
                changed.append(channel)
            new_consent = changes.get(_TRAIT_OF[channel]) is True and at > suppressed_at
            if not new_consent and after.consent.get(channel):
                after = replace(after, consent={**after.consent, channel: False})
                changed.append(channel)
        return after, ", ".join(dict.fromkeys(changed)) or None


def _new_addresses(before: Profile | None, after: Profile) -> Sequence[tuple[str, str]]:
    """The (channel, address) pairs `after` has that `before` had not."""
    found: list[tuple[str, str]] = []
    if after.email and (before is None or (before.email or "").lower() != after.email.lower()):
        found.append(("email", after.email))
    if after.phone and (before is None or before.phone != after.phone):
        found.append(("sms", after.phone))
    old_tokens = set(before.push_tokens) if before is not None else set()
    found += [("push", token) for token in after.push_tokens if token not in old_tokens]
    return found
