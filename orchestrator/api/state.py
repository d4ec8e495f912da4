"""What the endpoints share: the runtime the app's lifespan builds, and the dependency that hands it out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import Request

from orchestrator.api.readiness import ReadinessCache
from orchestrator.console.access import ConsoleSettings
from orchestrator.personalization.unsubscribe import UnsubscribeConfig
from orchestrator.privacy.payload_codec import PayloadKeys
from orchestrator.routing.gateway import LoopGateway
from orchestrator.routing.router import Router
from orchestrator.store import Store
from orchestrator.webhooks.sendgrid_signature import SendGridWebhookSettings
from orchestrator.webhooks.twilio_signature import TwilioWebhookSettings


@dataclass(frozen=True)
class ApiSettings:
    """How the endpoints behave: the read endpoints' timeouts, and the keys that check what providers and customers send.

    `journey api` and `journey dev` fill the keys from the environment when they start
    (orchestrator/host/settings.py); the defaults check nothing: provider webhooks are
    refused with 503 and unsubscribe links are checked against the development key.
    """

    status_query_timeout: timedelta = timedelta(seconds=2)
    """How long GET /v1/customers/{id}/journeys waits for running enrollments to say where they are."""
    health_timeout: timedelta = timedelta(seconds=2)
    """How long /healthz waits for Temporal's health check."""
    sendgrid_webhook: SendGridWebhookSettings = field(default_factory=SendGridWebhookSettings)
    """What checks POST /webhooks/sendgrid."""
    twilio_webhook: TwilioWebhookSettings = field(default_factory=TwilioWebhookSettings)
    """What checks POST /webhooks/twilio/*."""
    unsubscribe: UnsubscribeConfig = field(default_factory=UnsubscribeConfig.development)
    """What checks the tokens of /v1/unsubscribe/{token}: the key the worker signs links with."""
    payload_keys: PayloadKeys | None = None
    """What /v1/codec/* encodes and decodes with: the keys of the process's Temporal client. None: it answers 404."""
    codec_origins: frozenset[str] = frozenset()
    """Origins (the Temporal UI's, `https://temporal.shop.example`) allowed to call /v1/codec/* from a browser."""
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    """The console's password (else the API keys are its passwords) and the repository its journeys link to."""


@dataclass(frozen=True)
class ApiRuntime:
    """Built by the lifespan, on `app.state.runtime`: the endpoints' view of the world."""

    store: Store
    router: Router
    gateway: LoopGateway
    settings: ApiSettings
    readiness: ReadinessCache = field(default_factory=ReadinessCache)
    """The last `/readyz` answer, reused for a few seconds."""


async def runtime(request: Request) -> ApiRuntime:
    """The endpoints' dependency on what the lifespan built."""
    found = getattr(request.app.state, "runtime", None)
    if found is None:
        raise RuntimeError("the API's lifespan has not run: serve the app with lifespan events on")
    assert isinstance(found, ApiRuntime)
    return found
