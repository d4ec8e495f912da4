"""One customer's history written straight into a store, as routing, the worker and the webhooks would have written it.

Ann (id `ann/shop@example`: a `/` and an `@`, as ids may have) is identified, opts in to e-mail, starts a
checkout, enters the cart journey, passes its steps, is sent a reminder (delivered, opened twice, clicked
once), has an SMS suppressed, converts; a STOP from her number is reported with no delivery.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import httpx
from fastapi import FastAPI

from orchestrator.api import customers
from orchestrator.api.errors import install_error_handlers
from orchestrator.api.state import ApiRuntime, ApiSettings
from orchestrator.console import customer_page
from orchestrator.routing.gateway import LoopGateway
from orchestrator.routing.router import Router
from orchestrator.store import JourneyFact, Store
from orchestrator.store.values import ConsentEvidence, DeliveryKey, OutboxMessage, ProviderEvent, fact_key
from tests.keys import HASH_SECRET

ANN = "ann/shop@example"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOSTILE_SUBJECT = '"><img src=x onerror=alert(1)> and <script>alert(2)</script>'
HOSTILE_BODY = '<p>Hi</p><script>alert(3)</script><img src="x" onerror="alert(4)"></iframe><b>after</b>'


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


def new_store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'console.db'}", HASH_SECRET)
    store.migrate()
    return store


def cart_fact(
    kind: str, minute: int, step: str | None = None, visit: int | None = None, status: str | None = None, **more: str
) -> JourneyFact:
    """A fact of Ann's cart enrollment, keyed as the workflow and the webhooks key theirs."""
    key = fact_key(kind, step, visit, status)
    return JourneyFact(kind, "abandoned_cart", "v1", "cart-ann", ANN, key, at(minute), step_id=step, visit=visit, status=status, **more)


def write_ann(store: Store, *, subject: str = "Your cart is waiting", body: str = "<p>Your cart of 50 is waiting.</p>") -> None:
    """Ann's history (see the module's docstring), in the store's tables."""
    reminder, sms = DeliveryKey("cart-ann", "reminder", 1), DeliveryKey("cart-ann", "text", 1)
    traits = {"email": "ann@example.com", "phone": "+14155552671", "email_opt_in": True, "first_name": "Ann", "push_tokens": ["tok-1"]}
    reports = [("delivered", "delivered", 3), ("open", "opened", 4), ("open", "opened", 5), ("click", "clicked", 6)]
    with store.session() as session:
        session.identify(ANN, traits, at(0), ConsentEvidence("identify", "id-1", at(0)))
        session.record_event("id-1", ANN, "identify", traits, at(0), at(0))
        session.record_event("tr-1", ANN, "checkout_started", {"cart_value": 50}, at(1), at(1))
        session.start_enrollment("cart-ann", "abandoned_cart", "v1", ANN, at(1))
        session.record_facts([cart_fact("entered", 1), cart_fact("reached", 1, "wait_a_bit"), cart_fact("reached", 2, "reminder")])
        session.claim_delivery(reminder, "email", at(2), customer_id=ANN, journey_id="abandoned_cart", category="marketing")
        session.mark_delivery(reminder, "sent", at(2), provider_message_id="pm-1")
        sent = OutboxMessage(ANN, "cart-ann", "abandoned_cart", "v1", "reminder", "email", "ann@example.com", subject, body, at(2))
        session.add_outbox_message(sent)
        session.record_provider_events(
            [
                ProviderEvent("sendgrid", f"sg-{n}", kind, at(minute), at(minute), ANN, "cart-ann", "reminder", 1)
                for n, (kind, _, minute) in enumerate(reports)
            ]
        )
        # One fact per outcome (the store keeps the first of a key): the second open makes none.
        session.record_facts(
            [cart_fact("provider", minute, "reminder", 1, outcome, name="email", detail=kind) for kind, outcome, minute in reports]
        )
        session.claim_delivery(sms, "sms", at(7), customer_id=ANN, journey_id="abandoned_cart", category="marketing")
        session.mark_delivery(sms, "suppressed", at(7), reason="no consent for sms")
        session.record_provider_events([ProviderEvent("twilio", "tw-stop", "inbound STOP", at(8), at(8), customer_id=ANN)])
        session.finish_enrollment("cart-ann", "converted", "text", at(9), reason="goal: order_completed")

class _NoTemporal:
    """The gateway of an API whose enrollments never answer where they are (the console asks Temporal nothing)."""

    def query_status(self, enrollments: list[object], timeout: timedelta) -> dict[str, object]:
        return {}


def customer_app(store: Store) -> FastAPI:
    """The API's customer endpoints and the console's customer pages over `store`, without Temporal or a login."""
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(customers.router)
    app.include_router(customer_page.router)
    app.state.runtime = ApiRuntime(store, cast(Router, None), cast(LoopGateway, _NoTemporal()), ApiSettings())
    return app


def client(store: Store) -> httpx.AsyncClient:
    """An HTTP client of `customer_app(store)` (ASGI transport: no sockets)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=customer_app(store)), base_url="http://console.test")
