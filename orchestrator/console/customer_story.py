"""One customer's page as data: their profile and consent, and a timeline of what happened to them, newest first.

Everything comes from `read_export` (orchestrator/store/export.py): the same rows, read in one
transaction, that `GET /v1/customers/{id}/export` answers with, so the page can never show a status
the API does not. `story_of` is a pure function of that export.

The timeline holds one entry per
- event the API received (identify calls included), at the time it was received;
- enrollment entered, and ended (with its status and why: the index's reason, or the `ended` fact's);
- step passed: the `reached` facts the workflow records on a step's first visit (docs/analytics.md,
  "Facts"); enrollments run by workflows older than those facts show their sends and their end only;
- problem noted at a step (a trait not written, a webhook not called);
- message: one per delivery ledger row (sent, suppressed, failed, or still pending), with the message as
  the outbox keeps it and what the provider reported of it; a provider event about no delivery (an
  inbound STOP) is an entry of its own.

What a running enrollment is doing right now is Temporal's (the API's `/journeys` asks it); the
console reads the store only, so a running enrollment shows the steps it has passed.

The timeline is bounded: the newest `TIMELINE_LIMIT` entries, and how many older ones are not shown
(the export has them all).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from orchestrator.store.export import CustomerExport
from orchestrator.store.values import ConsentRecord, Delivery, Enrollment, JourneyFact, OutboxMessage, Profile, ProviderEvent

TIMELINE_LIMIT: Final = 200
"""Entries a customer's page shows: enough for months of a busy customer, few enough for a phone to render."""

CHANNELS: Final = ("email", "sms", "push")
CHANNEL_NAMES: Final = {"email": "Email", "sms": "SMS", "push": "Push"}
STATUS_WORDS: Final = {"intent": "pending", "sent": "sent", "suppressed": "suppressed", "failed": "failed"}
"""A ledger status in the words of a timeline title (`intent`: claimed, deferred or being sent)."""

PUSH_TOKENS: Final = "push_tokens"
"""The identify trait whose values the console never shows (the profile's field of the same name)."""

_KIND_ORDER: Final = {"event": 0, "merged": 1, "entered": 2, "step": 3, "problem": 4, "message": 5, "provider": 6, "ended": 7}
"""Among entries at the same instant, the order things happen in: the event, the merge it makes, the entry it causes, its steps, its end."""


@dataclass(frozen=True)
class ChannelConsent:
    """One channel's consent as the profile holds it, and the record that set it."""

    channel: str
    """email | sms | push"""
    address: str | None
    """The e-mail address or phone number; None for push (the page shows how many tokens, never a token)."""
    opted_in: bool
    record: ConsentRecord | None
    """The newest consent record of the channel: when, from where, and the proof the store keeps. None: never changed
    (the default consent applies, orchestrator/store/values.py DEFAULT_CONSENT)."""
    number_opted_out: datetime | None = None
    """SMS only: when the customer's number texted STOP (it blocks marketing SMS whatever the profile says)."""


@dataclass(frozen=True)
class EnrollmentSummary:
    """One of the customer's enrollments, and why it ended."""

    enrollment: Enrollment
    reason: str | None
    """The index's reason, or (a row finished before the index kept reasons) the `ended` fact's; None while running."""


@dataclass(frozen=True)
class ProviderReport:
    """One webhook event a provider sent about a message."""

    provider: str
    kind: str
    """The provider's own name for it (open, click, delivered, bounce...)."""
    outcome: str | None
    """What analytics counts it as (delivered, opened, clicked, bounced...), from the message's `provider` facts."""
    at: datetime
    detail: str | None


@dataclass(frozen=True)
class MessageDetails:
    """A send of a journey: the ledger row, the message as sent (if the provider took it), what the provider reported."""

    channel: str
    journey_id: str | None
    enrollment_id: str
    step_id: str
    visit: int
    status: str
    """The ledger's: intent | sent | suppressed | failed (what `/v1/customers/{id}/deliveries` answers)."""
    reason: str | None
    provider_status: str | None
    """The furthest state the provider reported (the ledger's, as the API answers it)."""
    sent: OutboxMessage | None
    """Subject (or push title) and body as the customer received them; None when nothing went out."""
    reports: tuple[ProviderReport, ...]
    """Oldest first."""

    @property
    def recipient(self) -> str | None:
        """Where it went, as the page may show it: the address or number; None for a push (its `to` is a device token)."""
        return None if self.sent is None or self.channel == "push" else self.sent.to

    @property
    def opens(self) -> int:
        return sum(report.outcome == "opened" for report in self.reports)

    @property
    def clicks(self) -> int:
        return sum(report.outcome == "clicked" for report in self.reports)


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to the customer."""

    at: datetime
    kind: str
    """event | merged | entered | step | problem | message | provider | ended"""
    title: str
    """One line, e.g. `Email sent: Your cart is waiting`."""
    details: tuple[tuple[str, str], ...]
    """Label and value pairs, in the order the page shows them."""
    journey_id: str | None = None
    status: str | None = None
    """entered and ended: the enrollment's status; message: the delivery's."""
    message: MessageDetails | None = None


@dataclass(frozen=True)
class CustomerStory:
    """What one customer's page shows."""

    profile: Profile
    channels: tuple[ChannelConsent, ...]
    consent_records: tuple[ConsentRecord, ...]
    """Every consent change, newest first."""
    push_tokens: int
    enrollments: tuple[EnrollmentSummary, ...]
    """Newest first."""
    timeline: tuple[TimelineEntry, ...]
    """Newest first, at most the limit `story_of` was given."""
    older_not_shown: int
    """Entries older than the last one shown (the export has them)."""

    @property
    def customer_id(self) -> str:
        return self.profile.customer_id


def story_of(export: CustomerExport, *, limit: int = TIMELINE_LIMIT) -> CustomerStory:
    """The page of the customer whose rows `export` holds; the timeline cut to the newest `limit` entries."""
    reasons = _end_reasons(export)
    entries = sorted(_timeline(export, reasons), key=lambda entry: (entry.at, _KIND_ORDER[entry.kind]), reverse=True)
    return CustomerStory(
        profile=export.profile,
        channels=tuple(_channels(export)),
        consent_records=tuple(sorted(export.consent_records, key=lambda record: record.recorded_at, reverse=True)),
        push_tokens=len(export.profile.push_tokens),
        enrollments=tuple(
            EnrollmentSummary(e, reasons.get(e.enrollment_id)) for e in sorted(export.enrollments, key=lambda e: e.entered_at, reverse=True)
        ),
        timeline=tuple(entries[:limit]),
        older_not_shown=max(0, len(entries) - limit),
    )


def _channels(export: CustomerExport) -> Iterator[ChannelConsent]:
    profile = export.profile
    newest: dict[str, ConsentRecord] = {}
    for record in sorted(export.consent_records, key=lambda r: r.recorded_at):
        newest[record.channel] = record
    addresses = {"email": profile.email, "sms": profile.phone, "push": None}
    for channel in CHANNELS:
        stopped = export.number_opt_out[1] if channel == "sms" and export.number_opt_out is not None else None
        yield ChannelConsent(channel, addresses[channel], bool(profile.consent.get(channel, False)), newest.get(channel), stopped)


def _end_reasons(export: CustomerExport) -> dict[str, str | None]:
    """Why each finished enrollment ended: the index's reason, else the `ended` fact's (both the workflow's words)."""
    ended_facts = {fact.enrollment_id: fact.detail for fact in export.journey_facts if fact.kind == "ended"}
    return {e.enrollment_id: e.end_reason or ended_facts.get(e.enrollment_id) for e in export.enrollments if e.ended_at is not None}


def _timeline(export: CustomerExport, reasons: dict[str, str | None]) -> Iterator[TimelineEntry]:
    yield from (_event_entry(event.name, event.properties, event.received_at, event.timestamp) for event in export.events)
    for enrollment in export.enrollments:
        where = (("enrollment", enrollment.enrollment_id), ("version", enrollment.version))
        yield TimelineEntry(
            enrollment.entered_at, "entered", f"Entered journey {enrollment.journey_id}", where,
            journey_id=enrollment.journey_id, status=enrollment.status,
        )  # fmt: skip
        if enrollment.ended_at is not None:
            reason = reasons.get(enrollment.enrollment_id)
            details = (*where, ("status", enrollment.status), ("at step", enrollment.current_step or "—"), ("why", reason or "—"))
            title = f"{enrollment.status.capitalize()}: left journey {enrollment.journey_id}"
            yield TimelineEntry(enrollment.ended_at, "ended", title, details, journey_id=enrollment.journey_id, status=enrollment.status)
    for fact in export.journey_facts:
        if fact.kind == "reached" and fact.step_id is not None:
            details = (("enrollment", fact.enrollment_id), ("version", fact.version), *((("path", fact.name),) if fact.name else ()))
            yield TimelineEntry(fact.occurred_at, "step", f"Step {fact.step_id} in {fact.journey_id}", details, journey_id=fact.journey_id)
    for problem in export.problems:
        details = (("enrollment", problem.enrollment_id), ("what", problem.field), ("problem", problem.problem))
        title = f"Problem at step {problem.step_id} in {problem.journey_id}"
        yield TimelineEntry(problem.occurred_at, "problem", title, details, journey_id=problem.journey_id)
    for merge, _ in export.merges:
        title = f"Merged the anonymous visitor {merge.visitor_id}: their events, enrollments and messages are this customer's"
        yield TimelineEntry(merge.merged_at, "merged", title, (("by the call", merge.message_id),))
    yield from _message_entries(export)


def _event_entry(name: str, properties: dict[str, Any], received_at: datetime, happened_at: datetime) -> TimelineEntry:
    title = "Identified" if name == "identify" else f"Event {name}"
    details = (
        ("happened at", happened_at.isoformat()),
        *((key, _token_count(value) if key == PUSH_TOKENS else _shown(value)) for key, value in properties.items()),
    )
    return TimelineEntry(received_at, "event", title, details)


def _message_entries(export: CustomerExport) -> Iterator[TimelineEntry]:
    """A message entry per ledger row, with its outbox message and provider events; what matches no ledger row on its own."""
    reports: dict[tuple[str, str, int], list[ProviderEvent]] = {}
    unmatched_events: list[ProviderEvent] = []
    for event in export.provider_events:
        if event.enrollment_id is None or event.step_id is None or event.visit is None:
            unmatched_events.append(event)
        else:
            reports.setdefault((event.enrollment_id, event.step_id, event.visit), []).append(event)
    outcomes = _outcomes(export.journey_facts)
    # The outbox does not name the visit: the n-th message of a step is the n-th visit the ledger marked sent.
    sent_messages: dict[tuple[str, str], list[OutboxMessage]] = {}
    for message in sorted(export.messages, key=lambda m: m.sent_at):
        sent_messages.setdefault((message.enrollment_id, message.step_id), []).append(message)
    for delivery in sorted(export.deliveries, key=lambda d: (d.enrollment_id, d.step_id, d.visit)):
        waiting = sent_messages.get((delivery.enrollment_id, delivery.step_id), [])
        sent = waiting.pop(0) if delivery.status == "sent" and waiting else None
        events = reports.get((delivery.enrollment_id, delivery.step_id, delivery.visit), [])
        yield _message_entry(delivery, sent, _reports(events, outcomes))
    for (enrollment_id, step_id), left in sent_messages.items():
        for message in left:  # sent without a ledger row: the outbox is the only witness
            delivery = Delivery(enrollment_id, step_id, 0, message.channel, "sent", None, None, message.sent_at, message.sent_at,
                                journey_id=message.journey_id)  # fmt: skip
            yield _message_entry(delivery, message, ())
    for event in unmatched_events:
        details = (("provider", event.provider), *((("detail", event.detail),) if event.detail else ()))
        yield TimelineEntry(event.occurred_at, "provider", f"{event.provider.capitalize()} reported {event.kind}", details)


def _message_entry(delivery: Delivery, sent: OutboxMessage | None, reports: tuple[ProviderReport, ...]) -> TimelineEntry:
    details = MessageDetails(
        channel=delivery.channel,
        journey_id=delivery.journey_id,
        enrollment_id=delivery.enrollment_id,
        step_id=delivery.step_id,
        visit=delivery.visit,
        status=delivery.status,
        reason=delivery.reason,
        provider_status=delivery.provider_status,
        sent=sent,
        reports=reports,
    )
    title = f"{CHANNEL_NAMES.get(delivery.channel, delivery.channel)} {STATUS_WORDS.get(delivery.status, delivery.status)}"
    if sent is not None and sent.subject:
        title = f"{title}: {sent.subject}"
    elif delivery.reason:
        title = f"{title}: {delivery.reason}"
    shown = (
        ("journey", delivery.journey_id or "—"),
        ("step", delivery.step_id if delivery.visit <= 1 else f"{delivery.step_id} (visit {delivery.visit})"),
        ("status", delivery.status),
        *((("why", delivery.reason),) if delivery.reason else ()),
        *((("provider status", delivery.provider_status),) if delivery.provider_status else ()),
    )
    at = sent.sent_at if sent is not None else delivery.created_at
    return TimelineEntry(at, "message", title, shown, journey_id=delivery.journey_id, status=delivery.status, message=details)


def _outcomes(facts: Iterable[JourneyFact]) -> dict[tuple[str, str, int, str], str]:
    """(enrollment, step, visit, the provider's event name) -> what analytics counted it as, from the `provider` facts.

    The facts name both (`status` the outcome, `detail` the provider's name), so the console needs no table of
    provider names of its own: the webhook readers' (orchestrator/webhooks/) stays the one definition.
    """
    found: dict[tuple[str, str, int, str], str] = {}
    for fact in facts:
        if fact.kind == "provider" and fact.step_id and fact.visit is not None and fact.detail and fact.status:
            found[(fact.enrollment_id, fact.step_id, fact.visit, fact.detail)] = fact.status
    return found


def _reports(events: list[ProviderEvent], outcomes: dict[tuple[str, str, int, str], str]) -> tuple[ProviderReport, ...]:
    reports = []
    for event in sorted(events, key=lambda e: e.occurred_at):
        assert event.enrollment_id is not None and event.step_id is not None and event.visit is not None
        outcome = outcomes.get((event.enrollment_id, event.step_id, event.visit, event.kind))
        reports.append(ProviderReport(event.provider, event.kind, outcome, event.occurred_at, event.detail))
    return tuple(reports)


def _token_count(tokens: Any) -> str:
    """An identify call's push tokens as how many: a token lets whoever holds it send the customer a push."""
    count = len(tokens) if isinstance(tokens, list) else 1
    return f"{count} token{'' if count == 1 else 's'} (not shown)"


def _shown(value: Any) -> str:
    """A property or trait value as one line of text: strings as they are, anything else as compact JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
