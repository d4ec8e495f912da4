"""Erasure in the store: the tombstone while a customer is being erased, then their rows removed in one transaction.

The erasure itself (orchestrator/routing/erasure.py) runs in three steps: `begin_erasure` writes
the tombstone under the customer's lock, from which moment routing refuses their calls and the
delivery gate their sends; their workflows are ended and their histories deleted; then
`erase_customer_rows`, in one transaction, keeps each address as a suppression entry, deletes
every row that holds their personal data (their journey facts folded into the journey's counts
first, as retention does: orchestrator/store/fold.py; the counts name no customer, so they stay),
moves a broadcast's paging cursor off their id, and turns the tombstone into the audit: who asked,
when, how many rows of each table went, never the data. The tombstone and the audit name the
customer by a keyed hash only. A send already past the gate when the tombstone was written may
still finish after the rows are gone: its outcome then finds no ledger row and records nothing,
and the audit's `guard_until` keeps refusing such late sends for a while (ERASURE_GUARD).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Table, bindparam, delete, func, or_, select, update

from orchestrator.store.hashes import customer_hash
from orchestrator.store.prepared import Prepared
from orchestrator.store.retention import RetentionQueries
from orchestrator.store.schema import (
    broadcast_runs,
    consent_records,
    customer_locks,
    deliveries,
    enrollment_problems,
    enrollment_summaries,
    enrollments,
    erasures,
    events,
    identities,
    journey_facts,
    number_opt_outs,
    outbox_messages,
    profile_changes,
    profiles,
    provider_events,
    utc,
)
from orchestrator.store.suppressions import SuppressionQueries

ERASURE_GUARD: Final = timedelta(minutes=15)
"""How long after an erasure sends for the same customer id are still refused: longer than any activity that
was running when its workflow was ended may take (a send's provider call, a webhook's timeout, their retries)."""
CUSTOMER_TABLES: Final = (
    consent_records, events, enrollment_problems, deliveries, provider_events, outbox_messages, journey_facts, enrollment_summaries,
    enrollments, profile_changes, identities, profiles, customer_locks,
)  # fmt: skip
"""Every table with a `customer_id` column: all the customer's rows of each are deleted, in this order (those of the anonymous
profiles merged into them too, whose own history stayed under the anonymous ids: orchestrator/store/identities.py)."""


class ErasureQueries(SuppressionQueries, RetentionQueries):
    """The `erasures` table (tombstones and audits), and the deletion of a customer's rows (their facts folded first)."""

    def begin_erasure(self, customer_id: str, requested_by: str, at: datetime) -> int:
        """Write the tombstone of `customer_id` (or find the one of an erasure under way: it is continued); its id."""
        subject = customer_hash(self._secret, customer_id)
        under_way = self._conn.execute(
            select(erasures.c.id).where((erasures.c.customer_hash == subject) & erasures.c.completed_at.is_(None)).limit(1)
        ).scalar()
        if under_way is not None:
            return int(under_way)
        values = {"customer_hash": subject, "requested_by": requested_by, "requested_at": utc(at, "at")}
        return int(self._conn.execute(erasures.insert().values(values).returning(erasures.c.id)).scalar_one())

    def being_erased(self, customer_id: str) -> bool:
        """Whether an erasure of `customer_id` is under way (routing refuses their calls meanwhile)."""
        return self._conn.execute(_UNDER_WAY, {"erased_hash": customer_hash(self._secret, customer_id)}).first() is not None

    def being_erased_among(self, customer_ids: Sequence[str]) -> set[str]:
        """Those of `customer_ids` an erasure is under way for: `being_erased` for a broadcast page, in one read."""
        hashes = {customer_hash(self._secret, customer_id): customer_id for customer_id in customer_ids}
        query = select(erasures.c.customer_hash).where(erasures.c.customer_hash.in_(list(hashes)) & erasures.c.completed_at.is_(None))
        return {hashes[found] for found in self._conn.execute(query).scalars()}

    def erased_recently(self, customer_id: str, at: datetime) -> bool:
        """Whether `customer_id` is being erased, or was within ERASURE_GUARD before `at`: the gate sends them nothing."""
        params = {"erased_hash": customer_hash(self._secret, customer_id), "erased_now": utc(at, "at")}
        return _GUARDED.first(self._conn, params) is not None

    def earlier_erasures(self, customer_id: str) -> int:
        """How many erasures of `customer_id` completed before."""
        query = select(func.count()).where(
            (erasures.c.customer_hash == customer_hash(self._secret, customer_id)) & erasures.c.completed_at.is_not(None)
        )
        return int(self._conn.execute(query).scalar_one())

    def erase_customer_rows(self, erasure_id: int, customer_id: str, at: datetime) -> dict[str, Any]:
        """Suppress the customer's addresses, delete every row of theirs, complete the audit; what was removed, as counts."""
        at = utc(at, "at")
        suppressed = self._suppress_addresses_of(customer_id, at)
        removed: dict[str, int] = {}
        # The anonymous profiles merged into them: only their own history is still under their ids.
        merged = select(identities.c.anonymous_id).where(identities.c.customer_id == customer_id)
        ids = [customer_id, *self._conn.execute(merged).scalars()]
        enrollment_ids = select(enrollments.c.enrollment_id).where(enrollments.c.customer_id == customer_id).scalar_subquery()
        # Analytics keeps its totals: the facts are folded into the journeys' counts, which name no customer, before they go.
        self.fold_facts()
        phones = select(profiles.c.phone).where(profiles.c.customer_id == customer_id).scalar_subquery()
        removed["number_opt_outs"] = self._deleted(number_opt_outs, number_opt_outs.c.phone == phones)
        for table in CUSTOMER_TABLES:
            match = table.c.customer_id.in_(ids)
            if "enrollment_id" in table.c:
                # Rows of their enrollments written before the row knew its customer (ledger rows from before 0002).
                match = or_(match, table.c.enrollment_id.in_(enrollment_ids))
            removed[table.name] = self._deleted(table, match)
        self._move_cursors_off(customer_id)
        # The lock row is the erasure's own (PostgreSQL's lock_customer makes it): deleted, not counted as their data.
        removed = {name: count for name, count in removed.items() if count and name != customer_locks.name}
        audit = {"completed_at": at, "guard_until": at + ERASURE_GUARD, "removed": {**removed, "suppressed_addresses": suppressed}}
        self._conn.execute(update(erasures).where(erasures.c.id == erasure_id).values(audit))
        return {**removed, "suppressed_addresses": suppressed}

    def _suppress_addresses_of(self, customer_id: str, at: datetime) -> int:
        """Keep each address the store held for the customer (the profile's, and those their messages went to) as an entry."""
        addresses: dict[tuple[str, str], str | None] = {}
        profile = self._conn.execute(select(profiles.c.email, profiles.c.phone, profiles.c.push_tokens).where(
            profiles.c.customer_id == customer_id
        )).first()  # fmt: skip
        if profile is not None:
            if profile.email:
                addresses[("email", profile.email)] = None
            if profile.phone:
                stop = self._conn.execute(select(number_opt_outs.c.keyword).where(number_opt_outs.c.phone == profile.phone)).scalar()
                addresses[("sms", profile.phone)] = stop
            for token in profile.push_tokens or ():
                addresses[("push", token)] = None
        sent_to = select(outbox_messages.c.channel, outbox_messages.c.to_address).where(outbox_messages.c.customer_id == customer_id)
        for channel, address in self._conn.execute(sent_to.distinct()):
            addresses.setdefault((channel, address), None)
        for (channel, address), stop in addresses.items():
            self.suppress_address(channel, address, at, stop)
        return len(addresses)

    def _move_cursors_off(self, customer_id: str) -> None:
        """A broadcast run whose paging stopped at the customer's id (`broadcast_runs.last_customer`) keeps the id before
        theirs among the profiles instead ("" when none): the profiles still to read are the same ones, and the
        store no longer holds the id. The run's workflow pages on from its own copy of the cursor."""
        before = select(func.coalesce(func.max(profiles.c.customer_id), "")).where(profiles.c.customer_id < customer_id).scalar_subquery()
        self._conn.execute(update(broadcast_runs).where(broadcast_runs.c.last_customer == customer_id).values(last_customer=before))

    def _deleted(self, table: Table, where: Any) -> int:
        return int(self._conn.execute(delete(table).where(where)).rowcount or 0)


_UNDER_WAY = select(erasures.c.id).where((erasures.c.customer_hash == bindparam("erased_hash")) & erasures.c.completed_at.is_(None))
ERASURE_GUARDED = erasures.c.completed_at.is_(None) | (erasures.c.guard_until > bindparam("erased_now"))
"""An erasure under way, or completed less than ERASURE_GUARD before `erased_now`: its customer is sent nothing."""
_GUARDED = Prepared(  # on the send path: the delivery gate asks it before every send
    select(erasures.c.id).where((erasures.c.customer_hash == bindparam("erased_hash")) & ERASURE_GUARDED)
)
