"""Rules beyond the schema: expressions and templates, channel fields, time values, triggers.

Each check reads the document leniently (a value of the wrong type was already
reported by the schema) so that one mistake never hides the others.
"""

from __future__ import annotations

from typing import Any

from croniter import croniter

from orchestrator.compiler import values
from orchestrator.compiler.diagnostics import Severity
from orchestrator.compiler.source import JourneySource, Path_, mapping, step_kind, text
from orchestrator.compiler.template_files import load_template
from orchestrator.language.templating import MESSAGE_SCOPE, WEBHOOK_SCOPE, reads_event
from orchestrator.language.timeparse import is_timezone, utc_instant

_CHANNEL_NAMES = {"email": "an email", "sms": "an SMS", "push": "a push"}
_EXPRESSION_KEYS = frozenset({"where", "when", "audience", "until_date", "segment"})

CHANNEL_FIELDS = {
    "email": {"subject", "preheader", "body", "template"},
    "sms": {"body", "template"},
    "push": {"title", "body", "template", "url"},
}


def check_semantics(source: JourneySource) -> None:
    doc = source.document
    trigger = mapping(doc.get("trigger"))
    _check_trigger(source, trigger)
    entry = mapping(doc.get("entry"))
    values.expression(source, ("entry", "audience"), entry.get("audience"))
    values.duration(source, ("entry", "re_entry", "after"), mapping(entry.get("re_entry")).get("after"))
    goal = mapping(doc.get("goal"))
    values.expression(source, ("goal", "where"), goal.get("where"))
    values.duration(source, ("goal", "within"), goal.get("within"))
    exit_on = doc.get("exit_on")
    if isinstance(exit_on, list):
        for n, item in enumerate(exit_on):
            values.expression(source, ("exit_on", n, "where"), mapping(item).get("where"))
    _check_settings(source, mapping(doc.get("settings")))
    for index, step in source.steps():
        _check_step(source, ("steps", index), step)
    if "event" not in trigger:
        _warn_event_without_trigger_event(source, "segment" if "segment" in trigger else "schedule")


def _check_trigger(source: JourneySource, trigger: dict[str, Any]) -> None:
    values.expression(source, ("trigger", "where"), trigger.get("where"))
    values.expression(source, ("trigger", "segment"), trigger.get("segment"))
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


def _check_step(source: JourneySource, at: Path_, step: dict[str, Any]) -> None:
    kind = step_kind(step)
    body = step.get(kind) if kind else None
    if kind == "send" and isinstance(body, dict):
        _check_send(source, (*at, "send"), body)
    elif kind == "wait":
        _check_wait(source, (*at, "wait"), body)
    elif kind == "wait_for" and isinstance(body, dict):
        values.expression(source, (*at, "wait_for", "where"), body.get("where"))
        values.duration(source, (*at, "wait_for", "within"), body.get("within"))
        if "timeout_next" in body and "within" not in body:
            source.report(
                (*at, "wait_for", "timeout_next"),
                "timeout-without-within",
                "timeout_next needs `within`: say how long to wait before taking it",
            )
        elif "within" not in body:
            source.report(
                (*at, "wait_for"),
                "wait-forever",
                f"waits for '{body.get('event')}' forever if it never comes; add `within` and `timeout_next`",
                severity=Severity.WARNING,
            )
    elif kind == "branch" and isinstance(body, list):
        _check_branch(source, (*at, "branch"), body)
    elif kind == "split" and isinstance(body, dict):
        names: set[str] = set()
        for n, path in enumerate(body.get("paths") or []):
            name = text(mapping(path).get("name"))
            if name is not None and name in names:
                source.report(
                    (*at, "split", "paths", n, "name"),
                    "duplicate-split-path",
                    f"split path '{name}' is named twice; reports need distinct names",
                )
            names.add(name or "")
    elif kind == "update" and isinstance(body, dict):
        for key, value in mapping(body.get("compute")).items():
            values.expression(source, (*at, "update", "compute", key), value)
    elif kind == "webhook" and isinstance(body, dict):
        values.template(source, (*at, "webhook", "url"), body.get("url"), WEBHOOK_SCOPE)
        for key, value in mapping(body.get("headers")).items():
            values.template(source, (*at, "webhook", "headers", key), value, WEBHOOK_SCOPE)
        _check_webhook_body(source, (*at, "webhook", "body"), body.get("body"))
        values.duration(source, (*at, "webhook", "timeout"), body.get("timeout"))


def _check_send(source: JourneySource, at: Path_, send: dict[str, Any]) -> None:
    channel = send.get("channel")
    for key in ("subject", "preheader", "title", "body", "url"):
        values.template(source, (*at, key), send.get(key), MESSAGE_SCOPE)
    has_body = "body" in send or "template" in send
    if "body" in send and "template" in send:
        source.report((*at, "template"), "body-and-template", "give either an inline `body` or a `template` file, not both")
    if "template" in send:
        load_template(source, (*at, "template"), send.get("template"))
    channels = [channel] if isinstance(channel, str) else channel if isinstance(channel, list) else []
    if not channels or any(not isinstance(c, str) or c not in CHANNEL_FIELDS for c in channels):
        return  # the schema reports it
    for position, name in enumerate(channels):
        missing: list[str] = []
        if name == "email":
            if "subject" not in send:
                missing.append("subject")
            if not has_body:
                missing.append("body or template")
        elif name == "sms" and not has_body:
            missing.append("body (or template)")
        elif name == "push" and "title" not in send and not has_body:
            missing.append("title or body")
        if missing:
            which = f"{_CHANNEL_NAMES[name]} message" if position == 0 else f"the {name} fallback"
            source.report(at, "send-missing-field", f"{which} needs {' and '.join(missing)}")
    for key in ("subject", "preheader", "title", "url"):
        if key in send and not any(key in CHANNEL_FIELDS[c] for c in channels):
            source.report(
                (*at, key),
                "unused-field",
                f"`{key}` is not used by {' or '.join(dict.fromkeys(channels))} messages and will be ignored",
                on_key=True,
                severity=Severity.WARNING,
            )


def _check_wait(source: JourneySource, at: Path_, wait: Any) -> None:
    if isinstance(wait, str):
        values.duration(source, at, wait)
        return
    wait = mapping(wait)
    values.time_of_day(source, (*at, "until"), wait.get("until"))
    values.expression(source, (*at, "until_date"), wait.get("until_date"))
    values.duration(source, (*at, "offset"), wait.get("offset"), signed=True)
    values.time_of_day(source, (*at, "at"), wait.get("at"))


def _check_branch(source: JourneySource, at: Path_, items: list[Any]) -> None:
    else_at = [n for n, item in enumerate(items) if "else" in mapping(item)]
    for n, item in enumerate(items):
        values.expression(source, (*at, n, "when"), mapping(item).get("when"))
    if not else_at:
        source.report(at, "branch-without-else", "a branch needs a final `- else: <step>` for customers who match no condition")
    for n in else_at:
        if n != len(items) - 1:
            source.report((*at, n), "else-not-last", "`else` must be the last item: conditions after it can never match")


def _check_webhook_body(source: JourneySource, at: Path_, body: Any) -> None:
    if isinstance(body, str):
        values.template(source, at, body, WEBHOOK_SCOPE)
    elif isinstance(body, dict):
        for key, value in body.items():
            _check_webhook_body(source, (*at, key), value)
    elif isinstance(body, list):
        for n, value in enumerate(body):
            _check_webhook_body(source, (*at, n), value)


def _warn_event_without_trigger_event(source: JourneySource, trigger_kind: str) -> None:
    """In segment and schedule journeys `event` is empty, except in the `where` of the event being matched."""
    message = f"`event` is the triggering event, and a {trigger_kind}-triggered journey has none; use `customer` instead"
    for at, value in _all_strings(source.document, ()):
        if not at or at[0] not in ("steps", "entry") or (len(at) > 3 and at[2] == "wait_for"):
            continue
        expression = at[-1] in _EXPRESSION_KEYS or "compute" in at
        if at[-1] == "template" and len(at) > 3 and at[2] == "send":
            content = source.templates.get(value)
            if content is not None and reads_event(content, expression=False):
                source.report(at, "no-trigger-event", f"template '{value}': {message}", severity=Severity.WARNING)
        elif reads_event(value, expression=expression):
            source.report(at, "no-trigger-event", message, severity=Severity.WARNING)


def _all_strings(value: Any, at: Path_) -> list[tuple[Path_, str]]:
    if isinstance(value, str):
        return [(at, value)]
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in _all_strings(v, (*at, k))]
    if isinstance(value, list):
        return [found for n, v in enumerate(value) for found in _all_strings(v, (*at, n))]
    return []
