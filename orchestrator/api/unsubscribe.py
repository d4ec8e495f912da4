"""The unsubscribe link of marketing email: GET shows a confirmation page, POST unsubscribes (RFC 8058 one-click).

No API key: the signed token in the URL is the credential (orchestrator/personalization/unsubscribe.py).
GET never changes anything, because mail scanners follow links; the page's button and mail
clients' one-click `List-Unsubscribe-Post` both POST. Unsubscribing revokes email consent first
(committed on its own, so it holds even if Temporal is down) and then tracks `unsubscribed`,
which ends enrollments whose `exit_on` lists it.
"""

from __future__ import annotations

import html
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from orchestrator.api.state import ApiRuntime, runtime
from orchestrator.routing.calls import IdentifyCall, TemporalUnavailable, TrackCall
from orchestrator.routing.lease import CustomerBusy

router = APIRouter(prefix="/v1/unsubscribe", tags=["unsubscribe"])
Runtime = Annotated[ApiRuntime, Depends(runtime)]

UNSUBSCRIBED_EVENT = "unsubscribed"


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f'<body style="font-family:sans-serif;max-width:32em;margin:3em auto"><h1>{title}</h1>{body}</body></html>',
        status_code=status,
    )


def _invalid() -> HTMLResponse:
    return _page("Link not valid", "<p>This unsubscribe link is not valid. Use the link in the latest email you received.</p>", 404)


@router.get("/{token}", response_class=HTMLResponse)
def confirm(token: str, api: Runtime) -> HTMLResponse:
    if api.settings.unsubscribe.customer_of(token) is None:
        return _invalid()
    action = html.escape(token, quote=True)
    return _page(
        "Unsubscribe",
        "<p>Stop receiving marketing email from us?</p>"
        f'<form method="post" action="{action}"><button type="submit">Unsubscribe</button></form>',
    )


@router.post("/{token}", response_class=HTMLResponse)
def unsubscribe(token: str, api: Runtime) -> HTMLResponse:
    customer_id = api.settings.unsubscribe.customer_of(token)
    if customer_id is None:
        return _invalid()
    now = datetime.now(UTC)
    api.router.identify(IdentifyCall(customer_id, {"email_opt_in": False}, f"unsubscribe-{uuid.uuid4()}", now, now))
    try:
        api.router.track(TrackCall(customer_id, UNSUBSCRIBED_EVENT, {"channel": "email"}, f"unsubscribe-{uuid.uuid4()}", now, now))
    except (TemporalUnavailable, CustomerBusy):
        pass  # consent is revoked already and the gate refuses every marketing email; journeys just do not exit early
    return _page("You are unsubscribed", "<p>You will not receive marketing email from us any more.</p>")
