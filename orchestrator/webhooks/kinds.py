"""Provider webhook events as the bounded `kind` label of `journey_webhook_events_total` (orchestrator/metrics.py).

A provider's event name comes from the request body; signed, but still not ours to trust as a label
value, since every distinct value is a time series kept forever. Names the modules here know become
the label; anything else is `other`. Inbound SMS are `inbound_stop`, `inbound_start` or `inbound`.
"""

from __future__ import annotations

from typing import Final

from orchestrator.webhooks import sendgrid_events, twilio_inbound, twilio_status

_KNOWN: Final = {
    sendgrid_events.PROVIDER: frozenset(sendgrid_events.PROGRESS),
    twilio_status.PROVIDER: frozenset(twilio_status.PROGRESS),
}


def metric_kind(provider: str, kind: str) -> str:
    """The label for one logged event of `provider` whose own name is `kind`."""
    if provider == twilio_inbound.PROVIDER and kind.startswith("inbound"):
        keyword = kind.removeprefix("inbound").strip()
        if keyword in twilio_inbound.STOP_KEYWORDS:
            return "inbound_stop"
        return "inbound_start" if keyword in twilio_inbound.START_KEYWORDS else "inbound"
    return kind if kind in _KNOWN.get(provider, frozenset()) else "other"
