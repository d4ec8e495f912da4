"""The console's customer pages: search by customer id, and one customer's profile, consent and timeline.

- `GET /console/customers`: the search form (a GET form); `?id=<customer id>` redirects to the customer's page.
- `GET /console/customers/{customer_id}`: the page (customer_story.py holds what it shows); 404 for a customer
  the store holds nothing about, saying how customers come to exist. Ids may contain `/` and `@`. An anonymous
  visitor's id (`anonymous:<anonymousId>`) that merged into a customer redirects to that customer's page.
- `GET /console/message-preview?id=<customer id>&message=<outbox id>`: one e-mail's HTML as the customer received it,
  the document of the page's preview frame (below).
- `GET /console/customer-export?id=<customer id>`: the customer's export (`GET /v1/customers/{id}/export`'s
  document) as a download, for what the bounded timeline leaves out; behind the console's login, not the API key.

Privacy. Every response here sends `Cache-Control: no-store` (`render(..., private=True)`), so a shared
computer keeps no customer in its cache. Nothing here logs. A message's body is never live markup in the
page: an e-mail's HTML is shown in an `<iframe sandbox>` (no scripts, no same-origin, no forms) whose document
is served on its own with PREVIEW_POLICY: the e-mail's inline styles apply, as in the customer's mail client
(a `srcdoc` frame would inherit the page's policy, which refuses them), and no remote image loads, so
previewing a message never counts as an open at the provider. Other channels' bodies are escaped text.

Hooks for the browser tests (`data-testid`): `customer-search` (the form), `customer-missing` (the 404's
message), `customer-id`, `consent-<channel>` (a consent row), `push-tokens`, `enrollments`, `timeline`,
`timeline-entry` (each, with `data-kind`), `message-status`, `message-opens`, `message-clicks`,
`message-preview`, `older-not-shown`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from orchestrator.console.customer_story import CHANNEL_NAMES, TIMELINE_LIMIT, story_of
from orchestrator.console.rendering import console_store, render, secured
from orchestrator.store import Store
from orchestrator.store.export import read_export
from orchestrator.store.identities import is_anonymous

router = APIRouter()

ConsoleStore = Annotated[Store, Depends(console_store)]
CustomerQuery = Annotated[str | None, Query(alias="id", description="A customer id, as identify and track calls send it.")]
PREVIEW_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'unsafe-inline'",  # the e-mail's own styles, in its own sandboxed document only
        "img-src data:",  # no remote image: a provider's tracking pixel must not count the preview as an open
        "frame-ancestors 'self'",
        "form-action 'none'",
        "base-uri 'none'",
    )
)
"""The Content-Security-Policy of an e-mail preview's document (the module docstring says why)."""


def customer_url(customer_id: str) -> str:
    """The page of `customer_id`, every character but letters and digits encoded (ids may hold `/`, `@`, `?`, `#`)."""
    return f"/console/customers/{quote(customer_id, safe='')}"


def export_url(customer_id: str) -> str:
    return f"/console/customer-export?id={quote(customer_id, safe='')}"


def preview_url(customer_id: str, message_id: int) -> str:
    return f"/console/message-preview?id={quote(customer_id, safe='')}&message={message_id}"


def journey_url(journey_id: str) -> str:
    return f"/console/journeys/{quote(journey_id, safe='')}"


def when(moment: datetime | None) -> str:
    """A timestamp as the pages write it: UTC to the second (the `<time datetime>` around it keeps the exact value)."""
    return "—" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@router.get("/console/customers", include_in_schema=False)
def search(request: Request, customer_id: CustomerQuery = None) -> Response:
    """The search form; with `?id=`, the customer's page (a redirect, so the page has its own address to share)."""
    wanted = (customer_id or "").strip()
    if wanted:
        return secured(RedirectResponse(customer_url(wanted), status_code=303), private=True)
    return _search_page(request, missing=None, status=200)


@router.get("/console/customer-export", include_in_schema=False)
def export(store: ConsoleStore, customer_id: CustomerQuery = None) -> Response:
    """Everything the store holds about the customer, the API's export document, as a file to save."""
    with store.read() as session:
        found = read_export(session, customer_id or "")
    if found is None:
        return secured(JSONResponse({"error": "no such customer"}, status_code=404), private=True)
    download = {"Content-Disposition": 'attachment; filename="customer-export.json"'}
    return secured(JSONResponse(found.document(datetime.now(UTC)), headers=download), private=True)


@router.get("/console/message-preview", include_in_schema=False)
def message_preview(store: ConsoleStore, customer_id: CustomerQuery = None, message: int | None = None) -> Response:
    """The HTML of one e-mail the customer received, for the sandboxed frame of their page; 404 for any other message."""
    with store.read() as session:
        sent = next((m for m in session.messages_for(customer_id or "") if m.id == message and m.channel == "email"), None)
    if sent is None:
        return secured(Response("no such message", status_code=404, media_type="text/plain"), private=True)
    response = secured(HTMLResponse(sent.body), private=True)
    response.headers["Content-Security-Policy"] = PREVIEW_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"  # the console's own page frames it; nothing else may
    return response


@router.get("/console/customers/{customer_id:path}", include_in_schema=False)
def customer(request: Request, customer_id: str, store: ConsoleStore) -> Response:
    """One customer's page: profile, consent and its records, enrollments, and the timeline, newest first."""
    if not customer_id:
        return secured(RedirectResponse("/console/customers", status_code=303), private=True)
    with store.read() as session:
        found = read_export(session, customer_id)
        merge = session.merge_of(customer_id) if found is None and is_anonymous(customer_id) else None
    if merge is not None:  # a visitor who logged in: everything of theirs is on the customer's page now
        return secured(RedirectResponse(customer_url(merge.customer_id), status_code=303), private=True)
    if found is None:
        return _search_page(request, missing=customer_id, status=404)
    context: dict[str, Any] = {
        "nav_current": "customers",
        "story": story_of(found, limit=TIMELINE_LIMIT),
        "channel_names": CHANNEL_NAMES,
        "export_url": export_url(customer_id),
        "preview_url": preview_url,
        "journey_url": journey_url,
        "when": when,
    }
    return render(request, "customer.html", context, private=True)


def _search_page(request: Request, *, missing: str | None, status: int) -> Response:
    return render(request, "customer_search.html", {"nav_current": "customers", "missing": missing}, status=status, private=True)
