"""Build the IR from a journey document that passed every check."""

from __future__ import annotations

from typing import Any

from orchestrator import ir
from orchestrator.compiler.flow import onward_steps
from orchestrator.compiler.source import JourneySource
from orchestrator.compiler.steps import kind_lowered_to, kind_of
from orchestrator.compiler.values import hhmm, seconds
from orchestrator.language.timeparse import parse_duration, utc_instant


def lower(source: JourneySource) -> ir.Journey:
    doc = source.document
    onward = onward_steps(source)
    steps = tuple(_step(source, step, onward.get(step["id"], ir.END)) for _, step in source.steps())
    fields: dict[str, Any] = {
        "id": doc["id"],
        "name": doc["name"],
        "description": doc.get("description", ""),
        "tags": tuple(doc.get("tags", ())),
        "trigger": _trigger(doc["trigger"]),
        "entry": _entry(doc.get("entry", {})),
        "goal": _goal(doc.get("goal")),
        "exit_on": tuple(_event_filter(item) for item in doc.get("exit_on", ())),
        "metrics": tuple(_metric(item) for item in doc.get("metrics", ())),
        "settings": _settings(doc.get("settings", {})),
        "steps": steps,
        "start": steps[0].id,
        "events": (),
    }
    draft = ir.Journey(version="", **fields)
    fields["events"] = listened_events(draft)
    unversioned = ir.Journey(version="", **fields).to_dict()
    del unversioned["version"]
    return ir.Journey(version=ir.content_version(unversioned), **fields)


def listened_events(journey: ir.Journey) -> tuple[str, ...]:
    """Every event that can change an enrollment of this journey; the runtime drops all others early."""
    names: set[str] = {f.event for f in journey.exit_on}
    if isinstance(journey.trigger, ir.EventTrigger):
        names.add(journey.trigger.event)
    if journey.goal:
        names.add(journey.goal.event)
    for step in journey.steps:
        names.update(kind_lowered_to(step).listens(step))
    return tuple(sorted(names))


def _event_filter(value: Any) -> ir.EventFilter:
    if isinstance(value, str):
        return ir.EventFilter(value)
    return ir.EventFilter(value["event"], value.get("where"))


def _trigger(trigger: dict[str, Any]) -> ir.Trigger:
    if "event" in trigger:
        return ir.EventTrigger(trigger["event"], trigger.get("where"))
    if "segment" in trigger:
        return ir.SegmentTrigger(trigger["segment"])
    schedule = trigger["schedule"]
    zone = schedule.get("timezone", "UTC")
    at = schedule.get("at")
    return ir.ScheduleTrigger(cron=schedule.get("cron"), at=utc_instant(at, zone) if at else None, timezone=zone)


def _entry(entry: dict[str, Any]) -> ir.Entry:
    re_entry = entry.get("re_entry", "never")
    if isinstance(re_entry, dict):
        return ir.Entry(entry.get("audience"), "after", seconds(re_entry["after"]))
    return ir.Entry(entry.get("audience"), re_entry)


def _goal(goal: dict[str, Any] | None) -> ir.Goal | None:
    if goal is None:
        return None
    within = seconds(goal.get("within"))
    return ir.Goal(goal["event"], goal.get("where"), within, within or ir.MEASUREMENT_WINDOW_SECONDS, goal.get("value"))


def _metric(metric: dict[str, Any]) -> ir.Metric:
    return ir.Metric(metric["id"], metric["kind"], metric["event"], metric["value"], metric.get("where"))


def _settings(settings: dict[str, Any]) -> ir.Settings:
    quiet = settings.get("quiet_hours")
    cap = settings.get("frequency_cap")
    return ir.Settings(
        timezone=settings.get("timezone", "UTC"),
        quiet_hours=ir.QuietHours(hhmm(quiet["from"]), hhmm(quiet["to"])) if quiet else None,
        frequency_cap=ir.FrequencyCap(cap["max"], parse_duration(cap["per"])) if cap else None,
    )


def _step(source: JourneySource, step: dict[str, Any], onward: str) -> ir.Step:
    kind = kind_of(step)
    if kind is None:
        raise ValueError(f"step {step['id']!r} has no kind, yet the checks passed it")
    return kind.lower(source, step["id"], step[kind.name], onward)
