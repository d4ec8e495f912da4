"""Rules beyond the schema: triggers, entry, goal, exit_on and settings here; what the journey measures (the
goal's value, metrics) in `measures`; each step's own rules in its kind (orchestrator/compiler/steps/); then the
warning for `event` read where no trigger event exists. Reads of `events.<wait_for id>` are checked in `awaited`.

Each check reads the document leniently (a value of the wrong type was already
reported by the schema) so that one mistake never hides the others.
"""

from __future__ import annotations

from typing import Any

from croniter import croniter

from orchestrator.compiler import values
from orchestrator.compiler.diagnostics import Severity
from orchestrator.compiler.measures import check_measures
from orchestrator.compiler.source import JourneySource, mapping, text
from orchestrator.compiler.steps import kind_of
from orchestrator.compiler.texts import journey_texts
from orchestrator.language.templating import ENTRY_JOURNEY_FIELDS, ENTRY_SCOPE, reads_event
from orchestrator.language.timeparse import is_timezone, utc_instant


def check_semantics(source: JourneySource) -> None:
    doc = source.document
    trigger = mapping(doc.get("trigger"))
    _check_trigger(source, trigger)
    entry = mapping(doc.get("entry"))
    values.expression(source, ("entry", "audience"), entry.get("audience"), scope=ENTRY_SCOPE, journey_fields=ENTRY_JOURNEY_FIELDS)
    values.duration(source, ("entry", "re_entry", "after"), mapping(entry.get("re_entry")).get("after"))
    goal = mapping(doc.get("goal"))
    values.expression(source, ("goal", "where"), goal.get("where"))
    values.duration(source, ("goal", "within"), goal.get("within"))
    exit_on = doc.get("exit_on")
    if isinstance(exit_on, list):
        for n, item in enumerate(exit_on):
            values.expression(source, ("exit_on", n, "where"), mapping(item).get("where"))
    check_measures(source)
    _check_settings(source, mapping(doc.get("settings")))
    for index, step in source.steps():
        _check_step(source, index, step)
    if "event" not in trigger:
        _warn_event_without_trigger_event(source, "segment" if "segment" in trigger else "schedule")


def _check_trigger(source: JourneySource, trigger: dict[str, Any]) -> None:
    for key in ("where", "segment"):
        values.expression(source, ("trigger", key), trigger.get(key), scope=ENTRY_SCOPE, journey_fields=ENTRY_JOURNEY_FIELDS)
    schedule = mapping(trigger.get("schedule"))
    if not schedule:
        return
    zone = text(schedule.get("timezone"))
    values.timezone(source, ("trigger", "schedule", "timezone"), zone)
    cron = text(schedule.get("cron"))
    if cron is not None and (len(cron.split()) != 5 or not croniter.is_valid(cron)):
        source.report(
            ("trigger", "schedule", "cron"),
            "invalid-cron",
            f"'{cron}' is not a cron expression; use five fields: minute hour day-of-month month day-of-week, e.g. \"0 9 * * MON\"",
        )
    at = text(schedule.get("at"))
    if at is not None:
        try:
            utc_instant(at, zone if zone and is_timezone(zone) else "UTC")
        except (ValueError, OverflowError):
            source.report(
                ("trigger", "schedule", "at"),
                "invalid-datetime",
                f"'{at}' is not an ISO 8601 datetime; write e.g. 2026-12-01T10:00:00 (local to `timezone`) or 2026-12-01T09:00:00Z",
            )
    if not text(mapping(source.document.get("entry")).get("audience")):
        source.report(
            ("trigger", "schedule"),
            "schedule-needs-audience",
            "a scheduled broadcast needs entry.audience so it cannot reach every customer by accident; "
            'write audience: "true" if everyone is meant',
        )


def _check_settings(source: JourneySource, settings: dict[str, Any]) -> None:
    values.timezone(source, ("settings", "timezone"), text(settings.get("timezone")))
    quiet = mapping(settings.get("quiet_hours"))
    start = values.time_of_day(source, ("settings", "quiet_hours", "from"), quiet.get("from"))
    end = values.time_of_day(source, ("settings", "quiet_hours", "to"), quiet.get("to"))
    if start is not None and start == end:
        source.report(
            ("settings", "quiet_hours"),
            "invalid-quiet-hours",
            "quiet hours start and end at the same time; give a window such as 21:00 to 08:00",
        )
    values.duration(source, ("settings", "frequency_cap", "per"), mapping(settings.get("frequency_cap")).get("per"))


def _check_step(source: JourneySource, index: int, step: dict[str, Any]) -> None:
    kind = kind_of(step)
    if kind is not None:
        kind.check(source, ("steps", index, kind.name), step.get(kind.name))


def _warn_event_without_trigger_event(source: JourneySource, trigger_kind: str) -> None:
    """In segment and schedule journeys `event` is empty, except in the `where` of the event being matched."""
    message = f"`event` is the triggering event, and a {trigger_kind}-triggered journey has none; use `customer` instead"
    for found in journey_texts(source, top=("steps", "entry")):
        if found.awaited_event or not reads_event(found.text, expression=found.expression):
            continue
        said = f"template '{found.template_file}': {message}" if found.template_file else message
        source.report(found.at, "no-trigger-event", said, severity=Severity.WARNING)
