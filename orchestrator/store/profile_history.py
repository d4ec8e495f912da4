"""The `profile_changes` table: written with every profile write, read back as the profile at an instant.

What a change holds and how changes rebuild a profile is orchestrator/store/profile_timeline.py's (pure);
this module writes the rows, reads them (one customer, or every customer in one ordered pass for a
backtest), and applies retention to them. The history is personal data: erasure deletes it with the
profile (orchestrator/store/erasure.py), the export lists it (orchestrator/store/export.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import groupby
from typing import Any, Final

from sqlalchemy import Row, and_, delete, exists, select, update
from sqlalchemy.orm import aliased

from orchestrator.store.prepared import Prepared
from orchestrator.store.profile_timeline import BASELINE, ProfileTimeline, as_identified, fold, state_changes
from orchestrator.store.queries import Queries
from orchestrator.store.schema import profile_changes, utc
from orchestrator.store.values import ProfileChange

STREAM_ROWS: Final = 1000
"""Rows fetched at a time by the bulk read: its memory is this many rows and one customer's changes."""
CUSTOMERS_PER_QUERY: Final = 500
"""Customer ids per `IN (...)` of a bulk read for named customers (well under SQLite's bound parameters)."""


class ProfileHistoryQueries(Queries):
    """Each profile write's changes, and the profile as it was at an instant rebuilt from them."""

    def record_profile_change(self, customer_id: str, changed_at: datetime, source: str, changes: dict[str, Any]) -> None:
        """Record one write: `changes` as profile_timeline.recorded_changes gives them, in effect from `changed_at`."""
        row = {"customer_id": customer_id, "changed_at": utc(changed_at, "changed_at"), "source": source, "changes": changes}
        _INSERT_CHANGE.run(self._conn, row)

    def profile_changes_for(self, customer_id: str) -> list[ProfileChange]:
        """The customer's recorded changes, in the order they arrived (the order they apply in)."""
        query = select(profile_changes).where(profile_changes.c.customer_id == customer_id).order_by(profile_changes.c.id)
        return [_change(row) for row in self._conn.execute(query)]

    def profile_as_of(self, customer_id: str, at: datetime) -> dict[str, Any] | None:
        """The customer's traits and fields (identify's vocabulary, consent aside) as they were at `at`; None if the
        customer did not exist yet (or was erased, or has no history: profiles older than migration 0013)."""
        return as_identified(fold(customer_id, self.profile_changes_for(customer_id), utc(at, "at")))

    def profile_timelines(self, customer_ids: Iterable[str] | None = None, until: datetime | None = None) -> Iterator[ProfileTimeline]:
        """Every customer's timeline (or those of `customer_ids`), in customer id order, from one ordered read of the
        history streamed `STREAM_ROWS` rows at a time: memory holds one customer's changes, whatever their number.
        `until` leaves out the changes after it (a backtest's end). Read in a `Store.read()` session."""
        query = select(profile_changes).order_by(profile_changes.c.customer_id, profile_changes.c.id)
        if until is not None:
            query = query.where(profile_changes.c.changed_at <= utc(until, "until"))
        if customer_ids is None:
            yield from self._timelines(query)
            return
        wanted = sorted(set(customer_ids))
        for start in range(0, len(wanted), CUSTOMERS_PER_QUERY):
            yield from self._timelines(query.where(profile_changes.c.customer_id.in_(wanted[start : start + CUSTOMERS_PER_QUERY])))

    def profiles_as_of(self, at: datetime, customer_ids: Iterable[str] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """`profile_as_of` for many customers in one pass: (customer id, traits) of each who existed at `at`."""
        at = utc(at, "at")
        for timeline in self.profile_timelines(customer_ids, until=at):
            traits = timeline.traits_as_of(at)
            if traits is not None:
                yield timeline.customer_id, traits

    def prune_profile_changes(self, before: datetime, limit: int) -> int:
        """Fold, for up to `limit` customers, the changes from before `before` into one baseline change; how many customers.

        The baseline sets every key the folded changes had built, so the profile at `before` and after is rebuilt as
        before. Only changes that arrived before the customer's first kept one are folded: one that arrived later with
        an older timestamp applies after a kept change, and folding it earlier would change the result; it stays.
        """
        before = utc(before, "before")
        kept = aliased(profile_changes)
        kept_earlier = exists().where(
            and_(kept.c.customer_id == profile_changes.c.customer_id, kept.c.changed_at >= before, kept.c.id < profile_changes.c.id)
        )
        prunable = and_(profile_changes.c.changed_at < before, profile_changes.c.source != BASELINE, ~kept_earlier)
        customers = list(self._conn.execute(select(profile_changes.c.customer_id).where(prunable).distinct().limit(limit)).scalars())
        for customer_id in customers:
            self._fold_into_baseline(customer_id, before)
        return len(customers)

    def _fold_into_baseline(self, customer_id: str, before: datetime) -> None:
        rows = self._conn.execute(
            select(profile_changes).where(profile_changes.c.customer_id == customer_id).order_by(profile_changes.c.id)
        ).all()
        prefix: list[Row[Any]] = []
        for row in rows:
            if row.changed_at >= before:
                break
            prefix.append(row)
        profile = fold(customer_id, [_change(row) for row in prefix], None)
        if profile is None:
            # Changes that never create a profile, before any that did: every fold skips them, so they go.
            self._conn.execute(delete(profile_changes).where(profile_changes.c.id.in_([row.id for row in prefix])))
            return
        # The last folded row becomes the baseline: its id is before every kept change's, so it still applies first.
        last = prefix[-1]
        baseline = {"source": BASELINE, "changes": state_changes(profile), "changed_at": max(row.changed_at for row in prefix)}
        self._conn.execute(update(profile_changes).where(profile_changes.c.id == last.id).values(baseline))
        folded = [row.id for row in prefix[:-1]]
        if folded:
            self._conn.execute(delete(profile_changes).where(profile_changes.c.id.in_(folded)))

    def _timelines(self, query: Any) -> Iterator[ProfileTimeline]:
        # On the statement, not the connection (whose options would stay with it for the session's later statements).
        rows = self._conn.execute(query.execution_options(stream_results=True, yield_per=STREAM_ROWS))
        for customer_id, group in groupby(rows, key=lambda row: row.customer_id):
            yield ProfileTimeline(customer_id, [_change(row) for row in group])


def _change(row: Row[Any]) -> ProfileChange:
    return ProfileChange(customer_id=row.customer_id, changed_at=row.changed_at, source=row.source, changes=dict(row.changes))


_INSERT_CHANGE = Prepared(profile_changes.insert())
"""On every identify call and profile write: compiled once (orchestrator/store/prepared.py)."""
