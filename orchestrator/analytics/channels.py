"""Delivery per channel: a journey's send steps added up by the channel each step sends on.

The console's delivery table and `channels` in the stats document are this one sum, so the page and
the API cannot disagree. A step counts under its own channel: a message a fallback sent on another
channel (`send.fallback`) is counted with the step that sent it, as the step's funnel row counts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from orchestrator.analytics.statistics import rate


class SendCounts(Protocol):
    """What a step's report says about its messages (report.StepReport)."""

    channel: str | None
    sent: int
    delivered: int
    opened: int
    clicked: int
    bounced: int
    failed: int
    held: int
    suppressed: dict[str, int]


@dataclass(frozen=True)
class ChannelReport:
    channel: str
    steps: int
    """Send steps on this channel."""
    sent: int
    delivered: int
    opened: int
    clicked: int
    bounced: int
    failed: int
    held: int
    suppressed: dict[str, int]
    """By the delivery gate's reason (consent, quiet hours, caps...)."""
    delivery_rate: float | None
    """delivered / sent."""
    open_rate: float | None
    """opened / delivered (a click counts as an open)."""
    click_rate: float | None
    """clicked / delivered."""
    bounce_rate: float | None
    """bounced / sent."""


def channel_reports(steps: Sequence[SendCounts]) -> tuple[ChannelReport, ...]:
    """One row per channel the journey's send steps use, in the order the journey first uses each."""
    by_channel: dict[str, list[SendCounts]] = {}
    for step in steps:
        if step.channel is not None:
            by_channel.setdefault(step.channel, []).append(step)
    reports = []
    for channel, sends in by_channel.items():
        total = {name: sum(getattr(step, name) for step in sends) for name in ("sent", "delivered", "opened", "clicked", "bounced")}
        suppressed: dict[str, int] = {}
        for step in sends:
            for reason, count in step.suppressed.items():
                suppressed[reason] = suppressed.get(reason, 0) + count
        reports.append(
            ChannelReport(
                channel=channel,
                steps=len(sends),
                **total,
                failed=sum(step.failed for step in sends),
                held=sum(step.held for step in sends),
                suppressed=dict(sorted(suppressed.items())),
                delivery_rate=rate(total["delivered"], total["sent"]),
                open_rate=rate(total["opened"], total["delivered"]),
                click_rate=rate(total["clicked"], total["delivered"]),
                bounce_rate=rate(total["bounced"], total["sent"]),
            )
        )
    return tuple(reports)
