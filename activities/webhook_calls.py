"""A webhook step's call, made from its templates field by field, so that a failure names the field.

Any failure of a marketer's template (not only Jinja's own errors: `{{ 1 + 'a' }}` raises a
TypeError) and a URL that renders to no http(s) address mean the call is not made, and the
journey goes on (docs/language.md). `NotMade` says which field and why, with the template as
the journey has it and the error, never the rendered text: it may carry the customer's data
or a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from orchestrator.language.templating import render


@dataclass(frozen=True)
class Call:
    """What to send: the rendered URL, headers and body (a string, or JSON with its string leaves rendered)."""

    url: str
    headers: dict[str, str]
    body: Any


class NotMade(Exception):
    """The call cannot be made: `field` (url, headers.<Name>, body, body.<key>...) and why, in `problem`."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def rendered_call(url: str, headers: dict[str, str] | None, body: Any, context: dict[str, Any]) -> Call:
    """The call a webhook step's templates make in `context`; raises NotMade."""
    rendered_url = _rendered("url", url, context)
    if not _is_http(rendered_url):
        raise NotMade("url", f"{url!r} did not render to an http:// or https:// address with a host")
    rendered_headers = {name: _rendered(f"headers.{name}", value, context) for name, value in (headers or {}).items()}
    return Call(rendered_url, rendered_headers, _rendered_body("body", body, context))


def _rendered(field: str, template: str, context: dict[str, Any]) -> str:
    try:
        return render(template, context)
    except Exception as exc:  # any failure of a marketer's template stops this call, never the worker
        raise NotMade(field, f"{template!r} did not render: {str(exc) or type(exc).__name__}") from exc


def _rendered_body(field: str, body: Any, context: dict[str, Any]) -> Any:
    if isinstance(body, str):
        return _rendered(field, body, context)
    if isinstance(body, dict):
        return {key: _rendered_body(f"{field}.{key}", value, context) for key, value in body.items()}
    if isinstance(body, list):
        return [_rendered_body(f"{field}[{n}]", value, context) for n, value in enumerate(body)]
    return body


def _is_http(url: str) -> bool:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.host)
