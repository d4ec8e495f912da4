"""Why an enrollment ended, in the words of the journey file: kept in the index, shown by the API and `journey simulate`.

The workflow names the reason as it ends, since only it knows which goal, `exit_on`
filter, `exit` step or split ended the enrollment (it passes the reason in its
`FinishRequest`). An end recorded before the request carried a reason (an older
workflow's request, an index row written before the column) gets what the journey
version alone tells: `derived_end_reason`.
"""

from __future__ import annotations

import orchestrator.ir as ir  # not `from orchestrator import ir`: the workflow imports this module through its sandbox
from orchestrator.language.timeparse import format_duration

BROADCAST_CANCELLED = "broadcast cancelled"
"""A cohort's `cancel` signal (`journey broadcast cancel`) ended the member before its journey did."""


def exit_step_reason(step: ir.ExitStep) -> str:
    """An `exit` step's own `reason`, or which step it was when it gives none."""
    return step.reason or f"exit step {step.id}"


def exit_on_reason(exit_filter: ir.EventFilter) -> str:
    """The `exit_on` event that ended it, as the journey lists it (`exit_on: unsubscribed`)."""
    return f"exit_on: {exit_filter.event}"


def goal_reason(goal: ir.Goal) -> str:
    """The goal event that converted it (`goal: order_completed`)."""
    return f"goal: {goal.event}"


def holdout_reason(split_id: str | None) -> str:
    """The split whose holdout group the customer fell in."""
    return f"holdout of split {split_id}"


def measured_reason(window_seconds: int) -> str:
    """A split's path ended before the goal's measurement window closed, and the enrollment stayed until it did."""
    return f"measured until the goal's window closed, {format_duration(window_seconds)} after entry"


def derived_end_reason(journey: ir.Journey, status: str, step: str | None) -> str | None:
    """The reason of an end recorded without one, when the version tells it; else None.

    Exact, never a guess: `converted` has one cause (the goal), `holdout` one (the split it
    ended at), and `exited` at an `exit` step is that step (an `exit_on` event is applied
    before a step is entered, never at an `exit` step); `exited` elsewhere was an `exit_on`
    event, known only when the journey lists one event there.
    """
    if status == "converted" and journey.goal is not None:
        return goal_reason(journey.goal)
    if status == "holdout":
        return holdout_reason(step)
    if status != "exited":
        return None
    node = next((s for s in journey.steps if s.id == step), None)
    if isinstance(node, ir.ExitStep):
        return exit_step_reason(node)
    events = {exit_filter.event for exit_filter in journey.exit_on}
    if len(events) == 1:
        return exit_on_reason(journey.exit_on[0])
    return None
