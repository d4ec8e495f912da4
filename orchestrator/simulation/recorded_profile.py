"""One customer's profile as the store recorded it, at any instant, with a journey's own updates on top (offline runs).

The profile history (orchestrator/store/profile_timeline.py) rebuilds the traits and fields; consent is
not in it but in the consent records (orchestrator/store/consent.py), so the consent of that instant is
the latest record of each channel at or before it. An offline run adds the writes its `update` steps
would have made as changes of their own, in time order among the recorded ones: a later identify still
wins over an earlier update, as it did live.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from orchestrator.store import StoreSession
from orchestrator.store.profile_timeline import JOURNEY_UPDATE, fold
from orchestrator.store.values import ConsentRecord, Profile, ProfileChange


@dataclass
class RecordedProfile:
    """A customer's recorded profile changes (arrival order) and consent changes."""

    customer_id: str
    changes: list[ProfileChange]
    consent: Sequence[ConsentRecord] = ()
    _consent_order: list[ConsentRecord] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._consent_order = sorted(self.consent, key=lambda record: record.occurred_at)

    @classmethod
    def read(cls, session: StoreSession, customer_id: str) -> RecordedProfile:
        """What `session`'s store recorded of `customer_id` (one customer; a backtest reads many in bulk)."""
        return cls(customer_id, session.profile_changes_for(customer_id), session.consent_records_for(customer_id))

    def profile_as_of(self, at: datetime) -> Profile | None:
        """The profile at `at` (None: the customer did not exist yet), with the consent it had then."""
        profile = fold(self.customer_id, self.changes, at)
        if profile is None:
            return None
        consent = dict(profile.consent)
        for record in self._consent_order:
            if record.occurred_at > at:
                break
            consent[record.channel] = record.opted_in
        return replace(profile, consent=consent)

    def updated(self, at: datetime, recorded: dict[str, object]) -> RecordedProfile:
        """A copy with a journey's `update` (the changes it records, `profile_timeline.recorded_changes`) made at `at`."""
        changes = list(self.changes)
        # After every change made at or before `at`: the order they would have arrived in.
        position = max((n + 1 for n, change in enumerate(changes) if change.changed_at <= at), default=0)
        changes.insert(position, ProfileChange(self.customer_id, at, JOURNEY_UPDATE, dict(recorded)))
        copy = RecordedProfile(self.customer_id, changes)
        copy._consent_order = self._consent_order
        return copy

