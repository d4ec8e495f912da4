"""Build the IR from a journey document that passed every check."""

from __future__ import annotations

from typing import Any

from orchestrator import ir
from orchestrator.compiler.flow import edges
from orchestrator.compiler.source import JourneySource, step_kind
from orchestrator.compiler.template_files import variants
from orchestrator.compiler.values import hhmm, plain, seconds
from orchestrator.language.timeparse import parse_duration, utc_instant

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def lower(source: JourneySource) -> ir.Journey:
    doc = source.document
    # Fall-through and `next` edges are the ones written at ("steps", i, "id" | "next").
    following = {e.source: e.target for e in edges(source) if len(e.path) == 3}
    steps = tuple(_step(source, step, following.get(step["id"], ir.END)) for _, step in source.steps())
    fields: dict[str, Any] = {
        "id": doc["id"],
        "name": doc["name"],
        "description": doc.get("description", ""),
        "tags": tuple(doc.get("tags", ())),
        "trigger": _trigger(doc["trigger"]),
        "entry": _entry(doc.get("entry", {})),
        "goal": _goal(doc.get("goal")),
        "exit_on": tuple(_event_filter(item) for item in doc.get("exit_on", ())),
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
    names.update(s.event for s in journey.steps if isinstance(s, ir.WaitForStep))
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
    return ir.Goal(goal["event"], goal.get("where"), seconds(goal.get("within")))


def _settings(settings: dict[str, Any]) -> ir.Settings:
    quiet = settings.get("quiet_hours")
    cap = settings.get("frequency_cap")
    return ir.Settings(
        timezone=settings.get("timezone", "UTC"),
        quiet_hours=ir.QuietHours(hhmm(quiet["from"]), hhmm(quiet["to"])) if quiet else None,
        frequency_cap=ir.FrequencyCap(cap["max"], parse_duration(cap["per"])) if cap else None,
    )


def _step(source: JourneySource, step: dict[str, Any], following: str) -> ir.Step:
    step_id: str = step["id"]
    kind = step_kind(step)
    body = step[kind] if kind else None
    if kind == "send":
        template = body.get("template")
        channels = [body["channel"]] if isinstance(body["channel"], str) else list(body["channel"])
        return ir.SendStep(
            id=step_id,
            channel=channels[0],
            next=following,
            category=body.get("category", "marketing"),
            subject=body.get("subject"),
            preheader=body.get("preheader"),
            title=body.get("title"),
            body=source.templates[template] if template else body.get("body"),
            url=body.get("url"),
            template_path=template,
            fallback=tuple(channels[1:]),
            variants=variants(source, template),
        )
    if kind == "wait":
        if isinstance(body, str):
            return ir.WaitStep(step_id, parse_duration(body), following)
        if "until" in body:
            days = tuple(d for d in _WEEKDAYS if d in body.get("days", ()))
            return ir.WaitUntilStep(step_id, hhmm(body["until"]), following, days)
        return ir.WaitUntilDateStep(
            step_id,
            body["until_date"],
            following,
            offset_seconds=seconds(body.get("offset"), signed=True) or 0,
            at=hhmm(body["at"]) if "at" in body else None,
            repeat=body.get("repeat"),
        )
    if kind == "wait_for":
        return ir.WaitForStep(
            step_id,
            body["event"],
            following,
            where=body.get("where"),
            within_seconds=seconds(body.get("within")),
            timeout_next=body.get("timeout_next", following if "within" in body else None),
        )
    if kind == "branch":
        cases = tuple(ir.BranchCase(item["when"], item["next"]) for item in body if "when" in item)
        return ir.BranchStep(step_id, cases, body[-1]["else"])
    if kind == "split":
        paths = tuple(ir.SplitPath(p["name"], p["weight"], p["next"]) for p in body["paths"])
        return ir.SplitStep(step_id, paths, body.get("holdout", 0))
    if kind == "update":
        return ir.UpdateStep(
            step_id,
            following,
            set=plain(body["set"]) if "set" in body else None,
            compute=plain(body["compute"]) if "compute" in body else None,
            unset=tuple(body.get("unset", ())),
        )
    if kind == "webhook":
        return ir.WebhookStep(
            step_id,
            body["url"],
            following,
            method=body.get("method", "POST"),
            headers=plain(body["headers"]) if "headers" in body else None,
            body=plain(body.get("body")),
            timeout_seconds=seconds(body.get("timeout")) or 10,
        )
    reason = body.get("reason") if isinstance(body, dict) else None
    return ir.ExitStep(step_id, reason)
