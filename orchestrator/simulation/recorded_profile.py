"""One customer's profile as the store recorded it, at any instant, with a journey's own updates on top (offline runs).

The profile history (orchestrator/store/profile_timeline.py) rebuilds the traits and fields; consent is
not in it but in the consent records (orchestrator/store/consent.py), so the consent of that instant is
the latest record of each channel at or before it. An offline run adds the writes its `update` steps
would have made as changes of their own, in time order among the recorded ones: a later identify still
wins over an earlier update, as it did live.

An anonymous visitor who logged in (orchestrator/store/identities.py) is two profiles over time: their own
until the merge, the known customer's from it, as an enrollment started for the visitor reads its customer
through `current_customer`. The visitor's consent records moved to the known customer with the merge, so
both read those. A simulation's known customer is new at the login (its world is one person), so the merge
carried every trait of the visitor's, and an `update` made before the login is carried with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from orchestrator.store import StoreSession
from orchestrator.store.identities import MERGE_SOURCE
from orchestrator.store.profile_timeline import JOURNEY_UPDATE, fold
from orchestrator.store.values import ConsentRecord, Profile, ProfileChange


@dataclass
class RecordedProfile:
    """A customer's recorded profile changes (arrival order) and consent changes."""

    customer_id: str
    changes: list[ProfileChange]
    consent: Sequence[ConsentRecord] = ()
    visitor: RecordedProfile | None = None
    """The anonymous visitor who became this customer when they logged in (`merged_at`): the profile before it."""
    merged_at: datetime | None = None
    _consent_order: list[ConsentRecord] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._consent_order = sorted(self.consent, key=lambda record: record.occurred_at)

    @classmethod
    def read(cls, session: StoreSession, customer_id: str) -> RecordedProfile:
        """What `session`'s store recorded of `customer_id` (one customer; a backtest reads many in bulk), and of the known
        customer they became if `customer_id` is an anonymous visitor's who logged in."""
        merge = session.merge_of(customer_id)
        if merge is None:
            return cls(customer_id, session.profile_changes_for(customer_id), session.consent_records_for(customer_id))
        consent = session.consent_records_for(merge.customer_id)
        visitor = cls(customer_id, session.profile_changes_for(customer_id), consent)
        return cls(merge.customer_id, session.profile_changes_for(merge.customer_id), consent, visitor, merge.merged_at)

    def _before_merge(self, at: datetime) -> bool:
        return self.merged_at is not None and at < self.merged_at

    def customer_id_as_of(self, at: datetime) -> str:
        """Who the customer is at `at`: the visitor until they logged in, then the known customer."""
        return self.visitor.customer_id if self.visitor is not None and self._before_merge(at) else self.customer_id

    def profile_as_of(self, at: datetime) -> Profile | None:
        """The profile at `at` (None: the customer did not exist yet), with the consent it had then."""
        if self.visitor is not None and self._before_merge(at):
            return self.visitor.profile_as_of(at)
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
        visitor = self.visitor
        if visitor is not None and self.merged_at is not None and at < self.merged_at:
            visitor = visitor.updated(at, recorded)
            # The visitor's profile as updated is what the merge carried: right after the merge's change, before the login's traits.
            position = next((n + 1 for n, change in enumerate(changes) if change.source == MERGE_SOURCE), 0)
            changes.insert(position, ProfileChange(self.customer_id, self.merged_at, JOURNEY_UPDATE, dict(recorded)))
        else:
            # After every change made at or before `at`: the order they would have arrived in.
            position = max((n + 1 for n, change in enumerate(changes) if change.changed_at <= at), default=0)
            changes.insert(position, ProfileChange(self.customer_id, at, JOURNEY_UPDATE, dict(recorded)))
        copy = RecordedProfile(self.customer_id, changes, visitor=visitor, merged_at=self.merged_at)
        copy._consent_order = self._consent_order
        return copy

