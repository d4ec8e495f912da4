"""`webhook`: call an HTTP endpoint; `url`, `headers` and the string leaves of `body` are templates."""

from __future__ import annotations

import re
from typing import Any

from orchestrator import ir
from orchestrator.compiler import values
from orchestrator.compiler.drawing import Node, arrow_to_next, short
from orchestrator.compiler.source import JourneySource, Path_, mapping
from orchestrator.compiler.steps.kind import StepKind
from orchestrator.language.templating import WEBHOOK_SCOPE

_HTTP = re.compile(r"https?://[^/?#\s]", re.IGNORECASE)


def check(source: JourneySource, at: Path_, body: Any) -> None:
    if not isinstance(body, dict):
        return
    values.template(source, (*at, "url"), body.get("url"), WEBHOOK_SCOPE)
    _check_url(source, (*at, "url"), body.get("url"))
    for key, value in mapping(body.get("headers")).items():
        values.template(source, (*at, "headers", key), value, WEBHOOK_SCOPE)
    _check_body(source, (*at, "body"), body.get("body"))
    values.duration(source, (*at, "timeout"), body.get("timeout"))


def _check_url(source: JourneySource, at: Path_, url: Any) -> None:
    """The literal start of the URL must be http:// or https:// and a host; a URL that starts with a template
    (`{{ secrets.CRM_URL }}/contacts`) is known only when it renders."""
    if not isinstance(url, str):
        return
    literal = re.split(r"\{[{%#]", url, maxsplit=1)[0]
    # A template right after the scheme stands for the host: keep its `{` so the host check sees something there.
    start = url[: len(literal) + 1]
    if not url.strip():
        problem = "is empty"
    elif literal and not _HTTP.match(start):
        problem = f"'{url}' does not start with http:// or https:// and a host"
    else:
        return
    source.report(at, "invalid-url", f"the webhook URL {problem}; write the full address, e.g. https://crm.example.com/api/contacts")


def _check_body(source: JourneySource, at: Path_, body: Any) -> None:
    if isinstance(body, str):
        values.template(source, at, body, WEBHOOK_SCOPE)
    elif isinstance(body, dict):
        for key, value in body.items():
            _check_body(source, (*at, key), value)
    elif isinstance(body, list):
        for n, value in enumerate(body):
            _check_body(source, (*at, n), value)


def lower(source: JourneySource, step_id: str, body: Any, onward: str) -> ir.WebhookStep:
    return ir.WebhookStep(
        step_id,
        body["url"],
        onward,
        method=body.get("method", "POST"),
        headers=values.plain(body["headers"]) if "headers" in body else None,
        body=values.plain(body.get("body")),
        timeout_seconds=values.seconds(body.get("timeout")) or 10,
    )


def draw(step: ir.WebhookStep) -> Node:
    return Node(step.id, f"🌐 {step.id}\n{step.method} {short(step.url)}", "box")


WEBHOOK = StepKind(
    name="webhook",
    lowers_to=(ir.WebhookStep,),
    goes_on=True,
    check=check,
    lower=lower,
    draw=draw,
    arrows=arrow_to_next,
)
