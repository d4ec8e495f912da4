"""The unsubscribe link of marketing email: GET shows a confirmation page, POST unsubscribes (RFC 8058 one-click).

No API key: the signed token in the URL is the credential (orchestrator/personalization/unsubscribe.py).
GET never changes anything, because mail scanners follow links; the page's button and mail
clients' one-click `List-Unsubscribe-Post` both POST. Unsubscribing revokes email consent first
(committed on its own, so it holds even if Temporal is down) and then tracks `unsubscribed`,
which ends enrollments whose `exit_on` lists it.

A POST is idempotent: one that finds email consent off already changes nothing (mail clients
and the page's button both POST, and people click twice), and the message ids of the identify and
the track are derived from the link and the profile as it was read, so two POSTs racing each
other record them once. A customer who opts in again and then uses the link is unsubscribed again.
"""

from __future__ import annotations

import hashlib
import html
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from orchestrator.api.state import ApiRuntime, runtime
from orchestrator.routing.calls import IdentifyCall, TemporalUnavailable, TrackCall
from orchestrator.routing.lease import CustomerBusy
from orchestrator.store.values import ConsentEvidence

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
    with api.store.read() as session:
        profile = session.get_profile(customer_id)
    if profile is None or profile.consent.get("email"):
        now = datetime.now(UTC)
        # The token is a credential: the ids carry a digest of it, never the token itself.
        seen = profile.updated_at.isoformat() if profile is not None else ""
        message_id = "unsubscribe-" + hashlib.sha256(f"{token}\n{seen}".encode()).hexdigest()[:32]
        consent = ConsentEvidence("unsubscribe_link", message_id, now)
        api.router.identify(IdentifyCall(customer_id, {"email_opt_in": False}, f"{message_id}:profile", now, now, consent))
        try:
            api.router.track(TrackCall(customer_id, UNSUBSCRIBED_EVENT, {"channel": "email"}, message_id, now, now))
        except (TemporalUnavailable, CustomerBusy):
            pass  # consent is revoked already and the gate refuses every marketing email; journeys just do not exit early
    return _page("You are unsubscribed", "<p>You will not receive marketing email from us any more.</p>")
