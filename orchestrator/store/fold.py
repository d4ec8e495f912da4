"""The fold: journey facts added into per-day counts, once each, in the log's order (docs/analytics.md, "Facts").

A report must answer in milliseconds for a journey with millions of facts, so it never scans them:
the fold keeps `journey_day_counts` (per journey version, per UTC day, per measure) and a summary per
enrollment (`enrollment_summaries`, orchestrator/store/fact_summary.py) up to date, and the report adds
up days. Each fact is folded exactly once: the fold takes the one `fold_position` row (FOR UPDATE on
PostgreSQL; on SQLite the session's writer lock already excludes every other fold), reads the facts
after it in the log's order (orchestrator/store/journey_facts.py, "Order"), and moves it, in the same
transaction as the counts it added.

It runs where it is cheap to keep the backlog short: before every report (so a report is current),
in `journey prune` (hourly under `journey dev`), and before retention or erasure deletes facts (so the
counts survive them). How fast a backlog folds: bench/RESULTS.md, bench/analytics.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Final

from sqlalchemy import select, update

from orchestrator.analytics.counts import conversion_window_seconds
from orchestrator.store.fact_summary import CountKey, Summary, contributions
from orchestrator.store.journey_facts import FactPosition, JourneyFactQueries
from orchestrator.store.journeys import JourneyQueries
from orchestrator.store.schema import enrollment_summaries, fold_position, journey_day_counts

FOLD_BATCH: Final = 20_000
"""Facts read and folded per round: enough to share each enrollment's summary between its facts, few enough to stay small in memory."""
_IN_CHUNK: Final = 5_000
"""Ids per IN list (SQLite takes at most 32,766 parameters a statement)."""
_COUNT_COLUMNS: Final = ("journey_id", "version", "day", "measure", "step_id", "name", "status", "detail")
_SUM_COLUMNS: Final = ("count", "total", "total_of_squares")

Sums = list[float]
"""[count, total, total_of_squares]."""


class FoldQueries(JourneyFactQueries, JourneyQueries):
    """Folding the facts into `journey_day_counts`, through `enrollment_summaries`."""

    def fold_facts(self, limit: int | None = None, batch: int = FOLD_BATCH) -> int:
        """Fold the facts recorded since the last fold (at most about `limit`, whole batches; None: all); how many."""
        position = self._locked_fold_position()
        windows: dict[tuple[str, str], int | None] = {}
        folded = 0
        while True:
            facts = self.facts_after(position, batch)
            if not facts:
                break
            self._fold(facts, windows)
            folded += len(facts)
            position = FactPosition(facts[-1].position_xact, facts[-1].position_id)
            if len(facts) < batch or (limit is not None and folded >= limit):
                break
        if folded:
            self._conn.execute(update(fold_position).where(fold_position.c.id == 1).values(xact=position.xact, fact_id=position.fact_id))
        return folded

    def folded_position(self) -> FactPosition:
        """The position of the last fact folded: the facts at or before it may be deleted, their counts stay."""
        row = self._conn.execute(select(fold_position.c.xact, fold_position.c.fact_id).where(fold_position.c.id == 1)).first()
        return FactPosition(int(row.xact), int(row.fact_id)) if row is not None else FactPosition()

    def _locked_fold_position(self) -> FactPosition:
        # The row is made by the first fold (an empty store has no rows), then locked by every fold.
        self._conn.execute(self._insert(fold_position).values(id=1, xact=0, fact_id=0).on_conflict_do_nothing())
        query = select(fold_position.c.xact, fold_position.c.fact_id).where(fold_position.c.id == 1)
        row = self._conn.execute(query.with_for_update() if self._dialect == "postgresql" else query).one()
        return FactPosition(int(row.xact), int(row.fact_id))

    def _fold(self, facts: Sequence[Any], windows: dict[tuple[str, str], int | None]) -> None:
        summaries = self._summaries_of(enrollment_summaries.c.enrollment_id, {fact.enrollment_id for fact in facts})
        before = {enrollment: self._parts(summary, windows) for enrollment, summary in summaries.items()}
        # A `moved` fact changes the version a summary counts in: its old part comes off the version it had.
        versions_before = {enrollment: summary.version for enrollment, summary in summaries.items()}
        for fact in facts:
            summary = summaries.get(fact.enrollment_id)
            if summary is None:
                summary = summaries[fact.enrollment_id] = Summary(fact.enrollment_id, fact.journey_id, fact.version, fact.customer_id)
            summary.apply(fact)
        # A move changes the version an entry is of: the customer's entries are numbered again (distinct customers per version).
        entries = {(fact.journey_id, fact.customer_id) for fact in facts if fact.kind in ("entered", "moved")}
        if entries:
            self._number_entries(entries, summaries, before, versions_before, windows)
        changes: dict[tuple[str, str, CountKey], Sums] = defaultdict(lambda: [0, 0.0, 0.0])
        for enrollment, summary in summaries.items():
            version_before = versions_before.get(enrollment, summary.version)
            for key, value in before.get(enrollment, ()):
                _add(changes[(summary.journey_id, version_before, key)], -1, value)
            for key, value in self._parts(summary, windows):
                _add(changes[(summary.journey_id, summary.version, key)], 1, value)
        self._write_summaries(summaries.values(), windows)
        self._add_counts({key: sums for key, sums in changes.items() if any(sums)})

    def _number_entries(
        self,
        entries: set[tuple[str, str]],
        summaries: dict[str, Summary],
        before: dict[str, list[tuple[CountKey, float | None]]],
        versions_before: dict[str, str],
        windows: dict[tuple[str, str], int | None],
    ) -> None:
        """Give each enrollment of the customers who entered the day of their previous entry (distinct customers per range)."""
        by_journey: dict[str, set[str]] = defaultdict(set)
        for journey_id, customer_id in entries:
            by_journey[journey_id].add(customer_id)
        for journey_id, customers in by_journey.items():
            found = self._summaries_of(enrollment_summaries.c.customer_id, customers, enrollment_summaries.c.journey_id == journey_id)
            for enrollment, summary in found.items():
                if enrollment not in summaries:
                    summaries[enrollment] = summary
                    before[enrollment] = self._parts(summary, windows)
                    versions_before[enrollment] = summary.version
        groups: dict[tuple[str, str], list[Summary]] = defaultdict(list)
        for summary in summaries.values():
            if (summary.journey_id, summary.customer_id) in entries and summary.entered_at is not None:
                groups[(summary.journey_id, summary.customer_id)].append(summary)
        for group in groups.values():
            group.sort(key=lambda summary: (summary.entered_at, summary.enrollment_id))
            last_of_version: dict[str, str] = {}
            for previous, summary in zip([None, *group], group, strict=False):
                summary.previous_entry = previous.cohort_day if previous is not None else None
                summary.previous_entry_of_version = last_of_version.get(summary.version)
                last_of_version[summary.version] = summary.cohort_day  # type: ignore[assignment]

    def _parts(self, summary: Summary, windows: dict[tuple[str, str], int | None]) -> list[tuple[CountKey, float | None]]:
        return list(contributions(summary, self._window(summary, windows)))

    def _window(self, summary: Summary, windows: dict[tuple[str, str], int | None]) -> int | None:
        """The conversion window of the summary's version, from its deployed IR (None: no goal, or a version never deployed)."""
        key = (summary.journey_id, summary.version)
        if key not in windows:
            journey = self.journey_version(*key)
            windows[key] = conversion_window_seconds(journey) if journey is not None else None
        return windows[key]

    def _summaries_of(self, column: Any, values: Iterable[str], *where: Any) -> dict[str, Summary]:
        found: dict[str, Summary] = {}
        wanted = list(values)
        for start in range(0, len(wanted), _IN_CHUNK):
            query = select(enrollment_summaries).where(column.in_(wanted[start : start + _IN_CHUNK]), *where)
            for row in self._conn.execute(query):
                found[row.enrollment_id] = Summary.of_row(row)
        return found

    def _write_summaries(self, summaries: Iterable[Summary], windows: dict[tuple[str, str], int | None]) -> None:
        rows = [
            {
                "enrollment_id": summary.enrollment_id,
                "journey_id": summary.journey_id,
                "version": summary.version,
                "customer_id": summary.customer_id,
                "entered_at": summary.entered_at_time,
                "cohort_day": summary.cohort_day,
                "converted": summary.conversion(self._window(summary, windows)) is not None,
                "arms": summary.arms_text(),
                "state": summary.state(),
            }
            for summary in summaries
        ]
        statement = self._insert(enrollment_summaries)
        changed = {name: statement.excluded[name] for name in rows[0] if name != "enrollment_id"}
        self._conn.execute(statement.on_conflict_do_update(index_elements=[enrollment_summaries.c.enrollment_id], set_=changed), rows)

    def _add_counts(self, changes: dict[tuple[str, str, CountKey], Sums]) -> None:
        if not changes:
            return
        rows = [
            {**dict(zip(_COUNT_COLUMNS, (journey_id, version, *key), strict=True)), **dict(zip(_SUM_COLUMNS, sums, strict=True))}
            for (journey_id, version, key), sums in changes.items()
        ]
        statement = self._insert(journey_day_counts)
        table = journey_day_counts.c
        added = {name: table[name] + statement.excluded[name] for name in _SUM_COLUMNS}
        keys = [table[name] for name in _COUNT_COLUMNS]
        self._conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=added), rows)


def _add(sums: Sums, sign: int, value: float | None) -> None:
    sums[0] += sign
    if value is not None:
        sums[1] += sign * value
        sums[2] += sign * value * value
