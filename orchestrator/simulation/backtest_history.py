"""Each customer's recorded past as a backtest replays it, read from the store in bulk, one customer at a time.

One stream ordered by customer drives the reading: the calls recorded in the window (tracked events and
`identify` rows), or for a broadcast every customer's profile history, since a broadcast reaches customers
who made no call. Every `CHUNK_CUSTOMERS` customers of it, the rest of what they need is read with one query
each (orchestrator/store/history_reads.py): their profile history up to the window's end and their consent
records (the profile as it was at any instant, recorded_profile.py), the deliveries of other journeys that
held a slot under the caps, and their entries into the journey before the window (for re-entry rules).
Memory holds one chunk of customers, whatever their number.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from typing import TypeVar

from orchestrator.store import Enrollment, EventRow, StoreSession
from orchestrator.store.history_reads import CHUNK_CUSTOMERS
from orchestrator.store.profile_timeline import ProfileTimeline
from orchestrator.store.values import ConsentRecord, ProfileChange

T = TypeVar("T")


@dataclass(frozen=True)
class Window:
    """The instants a backtest replays: [start, end], in UTC."""

    start: datetime
    end: datetime


@dataclass
class CustomerHistory:
    """What the store recorded of one customer that a backtest needs."""

    customer_id: str
    calls: list[EventRow]
    """The calls recorded in the window (tracked events, `identify` rows with their traits), oldest first."""
    changes: list[ProfileChange]
    """The profile history until the window's end, in arrival order."""
    consent: list[ConsentRecord] = field(default_factory=list)
    capped_sends: list[tuple[str, datetime]] = field(default_factory=list)
    """(journey id, admitted_at) of deliveries that hold a slot under the caps, from `sends_since` to the window's end."""
    earlier_entries: list[Enrollment] = field(default_factory=list)
    """The customer's enrollments in the journey ids asked for, entered before the window."""


def read_histories(
    session: StoreSession,
    window: Window,
    journey_ids: Sequence[str],
    *,
    calls: Collection[str],
    sends_since: datetime,
    every_profile: bool,
) -> Iterator[CustomerHistory]:
    """Every customer with calls named `calls` in `window` (with `every_profile`: every customer with a profile history),
    one at a time, with those calls only: the others change nothing a backtest replays (the profile is read from its history).

    Read in a `Store.read()` session: one snapshot, however long the walk takes.
    """
    if every_profile:
        driver: Iterator[tuple[str, list[EventRow], list[ProfileChange] | None]] = (
            (timeline.customer_id, [], list(timeline.changes)) for timeline in session.profile_timelines(until=window.end)
        )
    else:
        calls_in_window = session.events_between(window.start, window.end, names=calls)
        driver = ((customer_id, list(rows), None) for customer_id, rows in groupby(calls_in_window, _customer))
    for chunk in _chunked(driver, CHUNK_CUSTOMERS):
        ids = [customer_id for customer_id, _, _ in chunk]
        their_calls: dict[str, list[EventRow]] = {}
        if every_profile:
            their_calls = _grouped(session.events_between(window.start, window.end, ids, calls), _customer)
        timelines: dict[str, ProfileTimeline] = {}
        if not every_profile:
            timelines = {timeline.customer_id: timeline for timeline in session.profile_timelines(ids, until=window.end)}
        consent = _grouped(session.consent_records_of(ids, window.end), lambda record: record.customer_id)
        sends: dict[str, list[tuple[str, datetime]]] = {}
        for customer_id, journey_id, admitted_at in session.capped_sends_of(ids, sends_since, window.end):
            sends.setdefault(customer_id, []).append((journey_id, admitted_at))
        entries = _grouped(session.entries_before(journey_ids, ids, window.start), lambda entry: entry.customer_id)
        for customer_id, own_calls, changes in chunk:
            if changes is None:
                found = timelines.get(customer_id)
                changes = list(found.changes) if found is not None else []
            yield CustomerHistory(
                customer_id,
                own_calls or their_calls.get(customer_id, []),
                changes,
                consent.get(customer_id, []),
                sends.get(customer_id, []),
                entries.get(customer_id, []),
            )


def _customer(row: EventRow) -> str:
    return row.customer_id


def _grouped(items: Iterable[T], key: Callable[[T], str]) -> dict[str, list[T]]:
    grouped: dict[str, list[T]] = {}
    for item in items:
        grouped.setdefault(key(item), []).append(item)
    return grouped


def _chunked(items: Iterator[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


DEFAULT_WINDOW = timedelta(days=30)
"""A backtest's window when only its end (or nothing) is given: the 30 days before it."""


def parse_window(first: str | None, last: str | None, now: datetime, default: timedelta = DEFAULT_WINDOW) -> Window:
    """The window of `--from` and `--to`: each a UTC day (YYYY-MM-DD; `--to`'s day included, to its end) or an instant
    with an offset (2026-03-02T09:00:00Z). `--to` defaults to `now`, `--from` to `default` before `--to`.
    Raises ValueError naming the option at fault."""
    end = _instant("--to", last, end_of_day=True) if last else now
    start = _instant("--from", first, end_of_day=False) if first else end - default
    if start >= end:
        raise ValueError(f"--from {first or start.isoformat()} is not before --to {last or end.isoformat()}: the window would be empty")
    return Window(start, end)


def _instant(option: str, text: str, *, end_of_day: bool) -> datetime:
    try:
        if len(text) == 10:  # a day: YYYY-MM-DD, in UTC
            day = datetime.combine(date.fromisoformat(text), time(), UTC)
            return day + timedelta(days=1) - JUST_BEFORE_DAY_ENDS if end_of_day else day
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{option} {text!r} is neither a day (2026-03-02) nor an instant with an offset (2026-03-02T09:00:00Z)") from None
    if moment.tzinfo is None:
        raise ValueError(f"{option} {text!r} has no time zone: add Z or an offset such as +01:00")
    return moment.astimezone(UTC)


JUST_BEFORE_DAY_ENDS = timedelta(microseconds=1)
