"""How a console page becomes a response: one Jinja2 environment, one `render`, the headers every page sends.

Page modules call `render(request, "journeys.html", {...})`; templates extend `base.html` (blocks
`title` and `main`; `nav_current` in the context marks the current tab, "journeys" or "customers").
`render` adds what the base template needs besides the page's own values: the CSRF token of the
session for the logout form (access.py puts it on `request.state`), and whether a login is in use.

Headers. Every console response carries `SECURITY_HEADERS`: the Content-Security-Policy allows
scripts, styles, images and form targets from the console's own origin only, so an injected
`<script>` or an inline `style="..."` attribute does nothing (templates and the SVG charts use
classes and presentation attributes, never inline styles or handlers); `nosniff` keeps a browser
from reading a static file as anything but its declared type; frames are refused (clickjacking).
`private=True` adds `Cache-Control: no-store`, which every page showing one customer's data must
send, so nothing personal stays in the browser's cache or history.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from orchestrator.analytics import report_format
from orchestrator.language.timeparse import format_duration
from orchestrator.store import Store

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
PREFIX = "/console"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",  # htmx's requests
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,  # every value is escaped unless a template marks it safe (the SVG charts, built escaped)
    undefined=StrictUndefined,  # a misspelt name fails the page (and its test) instead of rendering empty
    trim_blocks=True,
    lstrip_blocks=True,
)


def static_url(name: str) -> str:
    """Where a file of static/ is served: `/console/static/console.css`."""
    return f"{PREFIX}/static/{name}"


environment.globals["static_url"] = static_url
environment.globals["duration"] = format_duration
# Numbers are written as `journey stats` writes them (one place: orchestrator/analytics/report_format.py).
environment.filters.update(
    count=report_format.count,
    percent=report_format.percent,
    signed_percent=report_format.signed_percent,
    points=report_format.points,
    percent_interval=report_format.percent_interval,
    number=report_format.number,
    number_interval=report_format.number_interval,
    p_value=report_format.p_value,
)


def render(request: Request, name: str, context: dict[str, Any], *, status: int = 200, private: bool = False) -> HTMLResponse:
    """The template `name` rendered with `context` (plus `request`, `csrf_token`, `signed_in`), with the console's headers."""
    values = {
        "nav_current": None,
        "request": request,
        "csrf_token": getattr(request.state, "console_csrf", None),
        "signed_in": getattr(request.state, "console_signed_in", False),
        **context,
    }
    html = environment.get_template(name).render(values)
    return secured(HTMLResponse(html, status_code=status), private=private)


AnyResponse = TypeVar("AnyResponse", bound=Response)


def secured(response: AnyResponse, *, private: bool = False) -> AnyResponse:
    """`response` with SECURITY_HEADERS; `private`: never stored by the browser (customer pages, the login page)."""
    response.headers.update(SECURITY_HEADERS)
    # Counts are live: a page is always asked for again; a private one is not kept at all.
    response.headers["Cache-Control"] = "no-store" if private else "no-cache"
    return response


def console_store(request: Request) -> Store:
    """The pages' dependency on the store: the one the API's lifespan put on `app.state.runtime` (orchestrator/api/state.py)."""
    runtime = getattr(request.app.state, "runtime", None)
    store = getattr(runtime, "store", None)
    if not isinstance(store, Store):
        raise RuntimeError("the API's lifespan has not run: serve the app with lifespan events on")
    return store
