"""Inbound SMS: the opt-out and opt-in keywords (STOP, START...) a customer texts to our number.

STOP and its synonyms revoke SMS consent and set the `sms_stopped` trait, a
record of the STOP (when, which keyword, the consent it replaced) that the
delivery gate honours on its own: an identify that sets `sms_opt_in` again
does not undo it. Only START, YES or UNSTOP from that phone lift it, restoring
the consent the customer had before. The customer is found by the `From`
number (profiles store E.164); every profile with that number is changed.
The STOP is also kept for the number itself, so that a profile that gets the
number later (a new customer, a changed number) starts stopped; START lifts it.
Other inbound messages are logged without their text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from orchestrator.routing.calls import IdentifyCall, TrackCall
from orchestrator.store import Profile, StoreSession
from orchestrator.store.profiles import SMS_STOP_TRAIT, stop_record
from orchestrator.store.values import ConsentEvidence, ProviderEvent
from orchestrator.webhooks.errors import PayloadError
from orchestrator.webhooks.plan import NumberOptOut, WebhookPlan

PROVIDER = "twilio"
STOP_KEYWORDS: Final = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_KEYWORDS: Final = frozenset({"START", "YES", "UNSTOP"})
"""The keywords carriers and Twilio's default opt-out handling recognise (the whole message, any case)."""
OPTED_OUT_EVENT = "sms_opted_out"
OPTED_IN_EVENT = "sms_opted_in"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
"""Our answer to every inbound message: no reply from us (Twilio's opt-out handling sends its own confirmation)."""


@dataclass(frozen=True)
class InboundMessage:
    message_sid: str
    sender: str
    keyword: str | None
    """STOP, START... (upper case) when the message is one of the keywords, else None."""


def parse_inbound(form: Mapping[str, str]) -> InboundMessage:
    problems = [(name, "is required") for name in ("MessageSid", "From") if not form.get(name)]
    if problems:
        raise PayloadError(problems)
    # Twilio's Advanced Opt-Out says which keyword matched (OptOutType); without it, read the body.
    word = (form.get("OptOutType") or form.get("Body") or "").strip().upper()
    keyword = word if word in STOP_KEYWORDS | START_KEYWORDS else None
    return InboundMessage(form["MessageSid"], form["From"].strip(), keyword)


def stop_traits(profile: Profile, keyword: str, at: datetime) -> dict[str, Any]:
    """The identify traits of a STOP. A repeated STOP keeps the first record, so START restores the consent before it."""
    if profile.traits.get(SMS_STOP_TRAIT):
        return {"sms_opt_in": False} if profile.consent.get("sms") else {}
    return {"sms_opt_in": False, SMS_STOP_TRAIT: stop_record(keyword, at, bool(profile.consent.get("sms")))}


def start_traits(profile: Profile) -> dict[str, Any]:
    """The identify traits of a START: the consent from before the STOP, and no STOP record; nothing if there was no STOP."""
    record = profile.traits.get(SMS_STOP_TRAIT)
    if not record:
        return {}
    before = record.get("sms_opt_in_before", True) if isinstance(record, dict) else True
    return {"sms_opt_in": bool(before), SMS_STOP_TRAIT: None}


def plan_inbound(session: StoreSession, message: InboundMessage, received_at: datetime) -> WebhookPlan:
    plan = WebhookPlan()
    profiles = session.customers_with_phone(message.sender)
    kind = f"inbound {message.keyword}" if message.keyword else "inbound"
    if not profiles:
        plan.log.append(ProviderEvent(PROVIDER, message.message_sid, kind, received_at, received_at))
    for profile in profiles:
        # One log row per customer the number belongs to: the log is read per customer.
        event_id = message.message_sid if len(profiles) == 1 else f"{message.message_sid}:{profile.customer_id}"
        plan.log.append(ProviderEvent(PROVIDER, event_id, kind, received_at, received_at, customer_id=profile.customer_id))
    if session.logged_provider_events(PROVIDER, [row.event_id for row in plan.log] + [message.message_sid]):
        # Applied already: a STOP replayed after a START must not stop the number again.
        return plan
    if message.keyword in STOP_KEYWORDS:
        plan.numbers.append(NumberOptOut(message.sender, message.keyword, received_at))
    elif message.keyword in START_KEYWORDS:
        plan.numbers.append(NumberOptOut(message.sender, None, received_at))
    for profile in profiles:
        customer_id = profile.customer_id
        if message.keyword in STOP_KEYWORDS:
            traits, event = stop_traits(profile, message.keyword, received_at), OPTED_OUT_EVENT
        elif message.keyword in START_KEYWORDS and (traits := start_traits(profile)):
            event = OPTED_IN_EVENT
        else:
            continue  # not a keyword, or a START with no STOP to lift: nothing changes
        message_id = f"{PROVIDER}:{message.message_sid}:{customer_id}"
        if traits:
            consent = ConsentEvidence("sms_keyword", message.message_sid, received_at, message.keyword)
            plan.calls.append(IdentifyCall(customer_id, traits, f"{message_id}:profile", received_at, received_at, consent))
        properties = {"channel": "sms", "provider": PROVIDER, "keyword": message.keyword}
        plan.calls.append(TrackCall(customer_id, event, properties, message_id, received_at, received_at))
    return plan
