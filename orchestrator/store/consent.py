"""Consent records: every change of a customer's consent, written in the transaction of the profile change that made it.

The profile's `email_opt_in`, `sms_opt_in` and `push_opt_in` (and the `sms_stopped` record of a
texted STOP) are the state the delivery gate reads on every send. These rows are its history,
the answer to "prove consent": which call changed it, when, and the evidence the caller had
(docs/privacy.md, "Consent records"). The rule:

- a channel gets a record when its stored answer changes: its opt-in, and for SMS whether a STOP stands;
- or when a call states the channel's consent and the channel has no record yet: the first answer is
  kept even when it matches the default (email and push are opt-out), as a proof of consent needs it;
- a default nobody stated is no record (a new profile's email and push consent).

A change the store makes on its own is recorded under its own source, with the evidence of the call
that caused it: a profile that gets a number which texted STOP (`number_opt_out`), or an address
that was erased (`erased_address`, orchestrator/store/suppressions.py).
A replayed call records nothing twice: the router drops a repeated message id before the profile is
touched, and (customer, channel, source, evidence) is unique, for a call replayed after its event was pruned.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, select

from orchestrator.language.traits import OPT_IN_TRAITS, SMS_STOP_TRAIT
from orchestrator.store.queries import Queries
from orchestrator.store.schema import consent_records, utc
from orchestrator.store.values import DEFAULT_CONSENT, ConsentEvidence, ConsentRecord, Profile

CHANNELS: Final = tuple(OPT_IN_TRAITS.values())
NUMBER_OPT_OUT: Final = "number_opt_out"
ERASED_ADDRESS: Final = "erased_address"


def stated_channels(changes: Mapping[str, Any]) -> frozenset[str]:
    """The channels whose consent a set of traits states: an `*_opt_in`, or for SMS a STOP record set or lifted."""
    stated = {channel for trait, channel in OPT_IN_TRAITS.items() if trait in changes}
    if SMS_STOP_TRAIT in changes:
        stated.add("sms")
    return frozenset(stated)


def answer(profile: Profile | None, channel: str) -> tuple[bool, bool]:
    """A channel's stored answer: (its opt-in, whether a STOP stands); a profile not created yet has the defaults."""
    if profile is None:
        return DEFAULT_CONSENT[channel], False
    return bool(profile.consent.get(channel)), channel == "sms" and bool(profile.traits.get(SMS_STOP_TRAIT))


def opted_in(profile: Profile, channel: str) -> bool:
    """Whether the channel may carry marketing: its opt-in, and for SMS no STOP standing."""
    consent, stopped = answer(profile, channel)
    return consent and not stopped


class ConsentQueries(Queries):
    """The `consent_records` table: written by profile changes (orchestrator/store/profiles_table.py), read by the export."""

    def record_consent(
        self, before: Profile | None, after: Profile, stated: Collection[str], evidence: ConsentEvidence, at: datetime
    ) -> int:
        """Record the consent `after` has where it differs from `before` (or is stated for the first time); returns how many."""
        changed = [channel for channel in CHANNELS if answer(before, channel) != answer(after, channel)]
        first = [channel for channel in CHANNELS if channel in stated and channel not in changed]
        if first:
            recorded = set(
                self._conn.execute(
                    select(consent_records.c.channel).where(
                        (consent_records.c.customer_id == after.customer_id) & consent_records.c.channel.in_(first)
                    )
                ).scalars()
            )
            changed += [channel for channel in first if channel not in recorded]
        rows = [
            {
                "customer_id": after.customer_id,
                "channel": channel,
                "opted_in": opted_in(after, channel),
                "source": evidence.source,
                "evidence": evidence.evidence,
                "detail": evidence.detail,
                "occurred_at": utc(at, "at"),
                "recorded_at": utc(evidence.received_at, "received_at"),
            }
            for channel in CHANNELS
            if channel in changed
        ]
        if rows:
            self._conn.execute(self._insert(consent_records).values(rows).on_conflict_do_nothing())
        return len(rows)

    def consent_records_for(self, customer_id: str) -> list[ConsentRecord]:
        """The customer's consent records, oldest first (ties in the order they were written)."""
        query = (
            select(consent_records)
            .where(consent_records.c.customer_id == customer_id)
            .order_by(consent_records.c.occurred_at, consent_records.c.id)
        )
        return [consent_record(row) for row in self._conn.execute(query)]


def consent_record(row: Row[Any]) -> ConsentRecord:
    """A `consent_records` row as the value the store hands out."""
    return ConsentRecord(
        customer_id=row.customer_id,
        channel=row.channel,
        opted_in=bool(row.opted_in),
        source=row.source,
        evidence=row.evidence,
        detail=row.detail,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
    )


def caused_by_store(evidence: ConsentEvidence, source: str, detail: str | None) -> ConsentEvidence:
    """The evidence of a change the store made because of a call (a stopped number, an erased address): the call's, its own source."""
    return replace(evidence, source=source, detail=detail)
