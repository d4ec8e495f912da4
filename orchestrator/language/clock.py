"""Local-time arithmetic for waits: the next 09:00 in the customer's zone, birthdays, renewals.

Pure functions of their arguments (no reading of the clock), so the simulator
and the tests can pin "now". Daylight-saving rules follow Python's zoneinfo:
a local time that does not exist on a spring-forward day (02:30 in New York)
maps to the same instant shifted forward by the gap (03:30); a local time that
happens twice on a fall-back day maps to its first occurrence.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from orchestrator.language.timeparse import is_timezone, parse_time_of_day

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY = 86400


def customer_zone(profile_zone: str | None, default_zone: str) -> ZoneInfo:
    """The customer's own zone when the profile has a valid one, else the journey's default."""
    if profile_zone and is_timezone(profile_zone):
        return ZoneInfo(profile_zone)
    return ZoneInfo(default_zone if is_timezone(default_zone) else "UTC")


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock `at` on `day` in `zone` (see the module docstring for DST)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def next_time_of_day(now: datetime, zone: ZoneInfo, until: str, days: tuple[str, ...] = ()) -> datetime:
    """The first instant after `now` when the local clock in `zone` shows `until`, on one of `days`."""
    at = parse_time_of_day(until)
    today = now.astimezone(zone).date()
    for ahead in range(8):
        day = today + timedelta(days=ahead)
        if days and WEEKDAYS[day.weekday()] not in days:
            continue
        candidate = local_instant(day, at, zone)
        if candidate > now:
            return candidate
    raise ValueError(f"no day matches {days!r}")  # pragma: no cover - a week always has each weekday


def quiet_hours_end(now: datetime, zone: ZoneInfo, start: str, end: str) -> datetime | None:
    """When the local quiet window `start`-`end` that contains `now` ends; None when `now` is outside it.

    The window may cross midnight (21:00 to 08:00). It is read on the local wall
    clock, so on a daylight-saving day it is an hour shorter or longer in real time.
    """
    local = now.astimezone(zone).time().replace(tzinfo=None)
    begins, ends = parse_time_of_day(start), parse_time_of_day(end)
    inside = begins <= local < ends if begins < ends else (local >= begins or local < ends)
    return next_time_of_day(now, zone, end) if inside else None


def parse_date_value(value: Any) -> tuple[date, time | None, ZoneInfo | None]:
    """A date, a datetime, or ISO 8601 text, as (date, time of day or None, zone when the value had an offset)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value, None, None
    elif isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            return date.fromisoformat(text), None, None
        except ValueError:
            moment = datetime.fromisoformat(text)
    else:
        raise ValueError(f"{value!r} is not a date")
    zone = ZoneInfo("UTC") if moment.tzinfo is not None else None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date(), moment.time().replace(tzinfo=None), zone


def until_date_instant(
    value: Any,
    *,
    now: datetime,
    zone: ZoneInfo,
    offset_seconds: int = 0,
    at: str | None = None,
    repeat: str | None = None,
) -> datetime:
    """When a `wait: {until_date: ...}` ends.

    Whole days of `offset_seconds` move the calendar date (so `offset: -1d, at: "10:00"`
    is 10:00 local the day before, across DST changes); the rest is added as
    elapsed time. `at` sets the local time of day (default: the value's own
    time, else 00:00). With `repeat="yearly"` the result is the first
    anniversary after `now` (29 February falls on 28 February in other years).
    The result may lie in the past without `repeat`; the caller then goes on at once.
    """
    day, value_time, value_zone = parse_date_value(value)
    wall = parse_time_of_day(at) if at else (value_time or time(0, 0))
    # A datetime with an offset keeps its own zone unless `at` asks for local wall time.
    place = value_zone if (value_zone is not None and at is None) else zone
    sign = -1 if offset_seconds < 0 else 1
    whole_days, rest = divmod(abs(offset_seconds), DAY)

    def instant(on: date) -> datetime:
        shifted = on + timedelta(days=sign * whole_days)
        return local_instant(shifted, wall, place) + timedelta(seconds=sign * rest)

    if repeat != "yearly":
        return instant(day)
    local_year = now.astimezone(zone).year
    for year in range(local_year - 1, local_year + 3):
        candidate = instant(_anniversary(day, year))
        if candidate > now:
            return candidate
    raise ValueError("no anniversary found")  # pragma: no cover - four years always contain one


def _anniversary(day: date, year: int) -> date:
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return day.replace(year=year)
