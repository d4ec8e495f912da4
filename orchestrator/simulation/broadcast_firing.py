"""When a simulated broadcast enrolls its customer: the schedule's first firing at or after the start.

Production hands a broadcast's schedule to Temporal (orchestrator/host/schedules.py); a
simulation has no schedule, so it works the firing out here and enrolls the customer then,
not at `--start`. A cron is read in the schedule's zone (croniter, the reader the compiler
validates it with); a one-off `at` that lies before the start never fires in the simulated
window, and the simulation says so instead of enrolling anyone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from orchestrator import ir


def first_firing(trigger: ir.ScheduleTrigger, start: datetime) -> datetime | None:
    """The first instant at or after `start` (aware) when `trigger` fires; None: a one-off `at` before the start."""
    if trigger.at is not None:
        once = datetime.fromisoformat(trigger.at.replace("Z", "+00:00"))
        return once if once >= start else None
    assert trigger.cron is not None  # the compiler requires exactly one of cron and at
    local = start.astimezone(ZoneInfo(trigger.timezone))
    # croniter answers the firing strictly after its base; a second earlier, a firing exactly at the start counts.
    times = croniter(trigger.cron, local - timedelta(seconds=1))
    firing: datetime = times.get_next(datetime)
    while firing < start:  # a start between whole seconds, past a firing on the whole minute
        firing = times.get_next(datetime)
    return firing.astimezone(UTC)
