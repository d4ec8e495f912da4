"""Timers a workflow never cancels: the enrollment's waits (interpreter revision 5 on) and the cohort's sleeps.

Woken early (an event, a move, a member's news), the workflow leaves its timer running and, when it
next sleeps to the same instant (a wait goes on to its deadline after an event it ignores), sleeps on
that timer again: an event costs no timer commands. A timer no longer needed fires once, for nothing.

Why not cancel: the time-skipping test server, which runs `journey simulate` and `journey test`, refuses a
workflow task that cancels a timer which fired while the task ran, and then never gives that workflow another
task. Its clock runs in real time between skips, so an event scripted at the instant a wait ends (a timer
started a few milliseconds after the event before it) meets its timer inside the task: the simulation hung,
and every run after it on that server. A real cluster accepts the cancel; left running, timers behave the same on both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from temporalio import workflow


class Timers:
    """The workflow's running timers, by the instant each ends."""

    def __init__(self) -> None:
        self._running: dict[datetime, asyncio.Task[None]] = {}

    async def sleep(self, until: datetime, seconds: float, woken: Callable[[], bool]) -> None:
        """Until `until`, `seconds` from now, or until `woken()`: on the timer already running to `until`, or a new one."""
        timer = self._running.get(until)
        if timer is None:
            timer = self._running[until] = asyncio.create_task(asyncio.sleep(seconds))
        await workflow.wait_condition(lambda: timer.done() or woken())
        for instant in [instant for instant, running in self._running.items() if running.done()]:
            del self._running[instant]
