"""`send`: one message on a channel, with fallback channels; the body inline or from a template file."""

from __future__ import annotations

from typing import Any

from orchestrator import ir
from orchestrator.compiler import values
from orchestrator.compiler.diagnostics import Severity
from orchestrator.compiler.drawing import Node, arrow_to_next, short
from orchestrator.compiler.source import JourneySource, Path_
from orchestrator.compiler.steps.kind import StepKind
from orchestrator.compiler.template_files import load_template, variants
from orchestrator.language.templating import MESSAGE_SCOPE

CHANNEL_FIELDS = {
    "email": {"subject", "preheader", "body", "template"},
    "sms": {"body", "template"},
    "push": {"title", "body", "template", "url"},
}
_CHANNEL_NAMES = {"email": "an email", "sms": "an SMS", "push": "a push"}
_CHANNEL_ICON = {"email": "✉", "sms": "💬", "push": "🔔"}


def check(source: JourneySource, at: Path_, send: Any) -> None:
    if not isinstance(send, dict):
        return
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


def lower(source: JourneySource, step_id: str, body: Any, onward: str) -> ir.SendStep:
    template = body.get("template")
    channels = [body["channel"]] if isinstance(body["channel"], str) else list(body["channel"])
    return ir.SendStep(
        id=step_id,
        channel=channels[0],
        next=onward,
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


def draw(step: ir.SendStep) -> Node:
    detail = step.subject or step.title or step.body or ""
    channels = " → ".join((step.channel, *step.fallback))
    return Node(step.id, f"{_CHANNEL_ICON[step.channel]} {step.id}\n{channels}: {short(detail)}", "box")


SEND = StepKind(
    name="send",
    lowers_to=(ir.SendStep,),
    goes_on=True,
    check=check,
    lower=lower,
    draw=draw,
    arrows=arrow_to_next,
    template_file_keys=frozenset({"template"}),
)
