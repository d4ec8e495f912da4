"""The one gate every send passes: reachability, quiet hours, the SMS marketing window and the caps.

`decide` is a pure function of the customer's profile, the journey's settings, the
delivery policy, the moment and the customer's recent marketing sends, so it
is tested with a fixed clock and no store. `gate_send` runs it inside the send
activity's store transaction, which holds the customer's lock, and claims the
delivery in the ledger with its outcome in that same transaction: a message that may go
takes its slot under the caps there (`admitted_at`), so two journeys sending to
one customer at the same moment cannot both take the last slot.

Rules (docs/delivery.md has the full story):
- reachability, for each channel of the step in order (`channel: [push, sms, email]`),
  the first one that passes is used:
  - consent: marketing needs the channel's opt-in (`email_opt_in`, `sms_opt_in`,
    `push_opt_in`); transactional email ignores the e-mail marketing opt-out; every
    SMS needs `sms_opt_in` (an SMS STOP blocks every SMS from that number), every
    push needs `push_opt_in` (the device's permission covers every notification);
  - an address for the channel (e-mail, phone, push token);
  - the address is not flagged undeliverable (`email_undeliverable`,
    `phone_undeliverable`: hard bounces, spam complaints, carrier rejections), whatever the category;
- then, for marketing messages only:
  - quiet hours (journey `settings.quiet_hours`) in the customer's zone: held until they end;
  - SMS marketing only 08:00-21:00 local (the TCPA window), whatever the journey says: held;
  - the journey's `frequency_cap` (this journey, rolling window) and the policy's daily
    cap (every journey, the customer's local calendar day): over either, skipped.
Transactional messages bypass quiet hours, the SMS window and the caps, and do not count towards the caps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from activities.messages import Undeliverable, address
from activities.progress_facts import outcome_facts
from orchestrator import ir
from orchestrator.language.clock import customer_zone, local_instant, quiet_hours_end
from orchestrator.language.timeparse import format_duration
from orchestrator.metrics import GATE_DECISIONS, SENDS
from orchestrator.store.profiles import SMS_STOP_TRAIT

if TYPE_CHECKING:
    from orchestrator.runtime.contracts import SendRequest
    from orchestrator.store import Delivery, StoreSession
    from orchestrator.store.values import DeliveryKey, JourneyFact, Profile

CAP_VARIABLE = "JOURNEY_FREQUENCY_CAP"
DEFAULT_RETRY_WINDOW = timedelta(hours=24)
"""How long a send is retried while its provider fails (429, 5xx, timeouts) before it is given up as failed."""
SMS_MARKETING_HOURS = ("08:00", "21:00")
"""US TCPA: telephone solicitations only between 8 a.m. and 9 p.m. at the called party's location."""
UNDELIVERABLE_FLAGS = {"email": "email_undeliverable", "sms": "phone_undeliverable"}
"""Profile flags (traits) that mark a channel's address as undeliverable; set by bounce and complaint handling."""
_ADDRESS_NAMES = {"email": "email address", "sms": "phone number"}
ERASED = "the customer is being erased"
GateRule = Literal["allowed", "unreachable", "quiet_hours", "frequency_cap", "daily_cap", "erased"]
"""The rule behind a decision: `unreachable` (consent, address, an undeliverable flag, a texted STOP), `quiet_hours`
(quiet hours or the SMS marketing window), the caps, a customer being `erased`; `allowed` when nothing held it."""
_HOLD_ROUNDS = 8
"""Windows that keep pushing each other later this many times leave no time to send (e.g. quiet 08:00-21:00 on SMS)."""


@dataclass(frozen=True)
class Decision:
    action: Literal["send", "suppress", "defer"]
    reason: str | None = None
    retry_at: datetime | None = None
    """With `defer`: when the message may go (the end of quiet hours)."""
    channel: str | None = None
    """With `send` and `defer`: the channel chosen among the step's channels."""
    rule: GateRule = "allowed"
    """Which rule decided, from a fixed list: what `journey_gate_decisions_total` counts by (`reason` is free text)."""


@dataclass(frozen=True)
class PastSend:
    """A marketing message the customer received or is being sent (it holds a slot under the caps)."""

    journey_id: str
    at: datetime


@dataclass(frozen=True)
class DeliveryPolicy:
    """Workspace-wide delivery rules, read from the environment when the worker starts (orchestrator/host/settings.py)."""

    daily_cap: int | None = None
    """At most this many marketing messages per customer per local calendar day, all journeys together."""
    retry_window: timedelta = DEFAULT_RETRY_WINDOW
    """A send whose provider keeps failing is retried this long, then marked failed and the journey goes on."""


def history_start(now: datetime, settings: ir.Settings) -> datetime:
    """How far back `decide` looks at past sends: the journey cap's window, and at least two days (a local day)."""
    window = settings.frequency_cap.per_seconds if settings.frequency_cap else 0
    return now - timedelta(seconds=max(window, 2 * 86400))


def decide(
    *,
    channels: Sequence[str],
    category: str,
    profile: Profile | None,
    settings: ir.Settings,
    now: datetime,
    journey_id: str = "",
    past_sends: Sequence[PastSend] = (),
    policy: DeliveryPolicy = DeliveryPolicy(),
) -> Decision:
    """Whether a message of `category` may go to the customer of `profile` (None: never identified) at `now`, and on which of `channels`.

    `past_sends` are the customer's marketing messages from every journey since
    `history_start` (not counting this one).
    """
    refusals: list[str] = []
    for channel in channels:
        refusal = unreachable(channel, category, profile)
        if refusal is None:
            break
        refusals.append(f"{channel}: {refusal}" if len(channels) > 1 else refusal)
    else:
        return Decision("suppress", "; ".join(refusals), rule="unreachable")
    if category == "transactional":
        return Decision("send", channel=channel)
    zone = customer_zone(profile.timezone if profile is not None else None, settings.timezone)
    hold = _hold(channel, settings, zone, now)
    if hold is not None:
        return hold
    over = _over_cap(settings, policy, zone, now, journey_id, past_sends)
    if over is not None:
        return Decision("suppress", over[1], channel=channel, rule=over[0])
    return Decision("send", channel=channel)


def unreachable(channel: str, category: str, profile: Profile | None) -> str | None:
    """Why the customer of `profile` cannot get a `category` message on `channel` (consent, address, flags); None if they can."""
    traits = profile.traits if profile is not None else {}
    if channel == "sms" and traits.get(SMS_STOP_TRAIT):
        # Checked apart from sms_opt_in: an identify that sets sms_opt_in again must not undo a texted STOP.
        return f"the customer texted STOP ({SMS_STOP_TRAIT}); only START, YES or UNSTOP from their phone lifts it"
    needs_consent = category != "transactional" or channel != "email"
    if needs_consent and not (profile is not None and profile.consent.get(channel, False)):
        return f"no consent: the customer has not opted in to {channel}"
    try:
        address(channel, profile)
    except Undeliverable as exc:
        return str(exc)
    flag = UNDELIVERABLE_FLAGS.get(channel)
    if flag and traits.get(flag):
        return f"the {_ADDRESS_NAMES[channel]} is marked undeliverable ({flag})"
    return None


def _hold(channel: str, settings: ir.Settings, zone: ZoneInfo, now: datetime) -> Decision | None:
    """A `defer` until no window holds the message any more (windows can push each other later), else None."""
    windows: list[tuple[str, str, str]] = []
    if settings.quiet_hours is not None:
        quiet = settings.quiet_hours
        windows.append((quiet.start, quiet.end, f"quiet hours {quiet.start}-{quiet.end}"))
    if channel == "sms":
        opens, closes = SMS_MARKETING_HOURS
        windows.append((closes, opens, f"SMS marketing only {opens}-{closes} local (TCPA)"))
    moment, reasons = now, []
    for _ in range(_HOLD_ROUNDS):
        moved = False
        for start, end, reason in windows:
            ends = quiet_hours_end(moment, zone, start, end)
            if ends is not None:
                moment, moved = ends, True
                if reason not in reasons:
                    reasons.append(reason)
        if not moved:
            break
    else:
        return Decision("suppress", f"{' and '.join(reasons)} leave no time to send ({zone.key})", channel=channel, rule="quiet_hours")
    if moment == now:
        return None
    return Decision("defer", f"{'; '.join(reasons)} ({zone.key})", moment, channel, rule="quiet_hours")


def _over_cap(
    settings: ir.Settings, policy: DeliveryPolicy, zone: ZoneInfo, now: datetime, journey_id: str, past_sends: Sequence[PastSend]
) -> tuple[GateRule, str] | None:
    cap = settings.frequency_cap
    if cap is not None:
        since = now - timedelta(seconds=cap.per_seconds)
        count = sum(1 for sent in past_sends if sent.journey_id == journey_id and since < sent.at <= now)
        if count >= cap.max:
            window = format_duration(cap.per_seconds)
            return "frequency_cap", f"frequency cap: {count} message(s) from this journey in the last {window} (max {cap.max})"
    if policy.daily_cap is not None:
        today = now.astimezone(zone).date()
        begins = local_instant(today, time(0, 0), zone)
        ends = local_instant(today + timedelta(days=1), time(0, 0), zone)
        count = sum(1 for sent in past_sends if begins <= sent.at < ends)
        if count >= policy.daily_cap:
            return "daily_cap", (
                f"daily frequency cap: {count} marketing message(s) today in {zone.key}, "
                f"all journeys together (max {policy.daily_cap}, {CAP_VARIABLE})"
            )
    return None


@dataclass(frozen=True)
class Gated:
    """What `gate_send` decided, and for whom."""

    decision: Decision
    profile: Profile | None
    """The customer's profile as the gate read it (None: never identified)."""
    earlier: Delivery | None
    """The row an earlier attempt decided (sent, suppressed or failed), if there is one."""


def gate_send(session: StoreSession, request: SendRequest, key: DeliveryKey, policy: DeliveryPolicy, at: datetime) -> Gated:
    """Read the customer, claim the delivery `key` of `request` in the ledger, decide it and record the outcome, in `session`'s transaction.

    `session` must hold the customer's lock (`store.session(lock_customer=...)`): counting
    the customer's sends and taking a slot happen under it, so concurrent sends cannot
    exceed a cap. `send`: the row is admitted (it counts from now on; a later `failed`
    gives the slot back). `defer`: the row stays `intent`, with the reason and until when.
    `suppress`: the row is marked suppressed with the reason. `at` is the wall clock for
    `updated_at`; the journey's clock (`request.now`) decides and stamps `admitted_at`.
    A customer being erased (or erased moments ago: a send of an ended workflow still running) is
    refused before anything is read or claimed (docs/privacy.md, "Erasure").

    A first attempt writes its row once, already decided. When an earlier attempt decided the
    row (sent, suppressed or failed), `earlier` is that row: the caller reports its outcome and
    sends nothing, and the decision made here is not recorded.
    """
    now, step, settings = datetime.fromisoformat(request.now), request.step, request.settings
    session.refuse_if_merged(request.customer_id)  # the caps and consent to decide by are the known customer's now
    if session.erased_recently(request.customer_id, at):
        # Nothing claimed: the ledger must hold no row of a customer whose rows are being (or were just) deleted.
        return Gated(Decision("suppress", ERASED, rule="erased"), None, None)
    profile, sends = session.gate_facts(request.customer_id, history_start(now, settings), exclude=key)
    decision = decide(
        channels=[step.channel, *step.fallback],
        category=step.category,
        profile=profile,
        settings=settings,
        now=now,
        journey_id=request.journey_id,
        past_sends=[PastSend(j, t) for j, t in sends],
        policy=policy,
    )
    row, new = session.claim_delivery(
        key,
        claimed_channel(decision, step),
        at,
        customer_id=request.customer_id,
        journey_id=request.journey_id,
        category=step.category,
        **claim_outcome(decision, now),
    )
    if new:
        session.record_facts(decision_facts(request, decision))
        return Gated(decision, profile, None)
    if row.status != "intent":
        return Gated(decision, profile, row)
    # The row an earlier attempt claimed and left undecided (held by quiet hours, or cut short): decide it now.
    if decision.action == "send":
        assert decision.channel is not None
        session.admit_delivery(key, channel=decision.channel, category=step.category, admitted_at=now, at=at)
    elif decision.action == "defer":
        session.note_delivery(key, _deferral(decision), at)
    else:
        session.mark_delivery(key, "suppressed", at, reason=decision.reason)
    session.record_facts(decision_facts(request, decision))
    return Gated(decision, profile, None)


def count_decision(decision: Decision, step: ir.SendStep) -> None:
    """Count a decision the gate made and recorded (never one an earlier attempt had made): by its rule, and a suppression
    as a send's outcome too. Called once the transaction that recorded it has committed."""
    GATE_DECISIONS.labels(decision.action, decision.rule).inc()
    if decision.action == "suppress":
        SENDS.labels(decision.channel or step.channel, "suppressed").inc()


def past_sends_since(now: datetime, settings: ir.Settings, sends: Sequence[tuple[str, datetime]]) -> list[PastSend]:
    """The (journey id, admitted_at) pairs `decide` counts for a send at `now`: those since `history_start`."""
    start = history_start(now, settings)
    return [PastSend(journey, at) for journey, at in sends if at >= start]


def claimed_channel(decision: Decision, step: ir.SendStep) -> str:
    """The channel a ledger row of `decision` names: the one chosen to send on, else the step's own."""
    return decision.channel if decision.action == "send" and decision.channel else step.channel


def claim_outcome(decision: Decision, now: datetime) -> dict[str, Any]:
    """What a first attempt's ledger row carries from the gate's `decision` at `now` (the journey's clock): admitted
    (`send`), held with why and until when (`defer`), or suppressed with the reason."""
    if decision.action == "send":
        assert decision.channel is not None
        return {"admitted_at": now}
    if decision.action == "defer":
        assert decision.retry_at is not None
        return {"reason": _deferral(decision)}
    return {"status": "suppressed", "reason": decision.reason}


def decision_facts(request: SendRequest, decision: Decision) -> list[JourneyFact]:
    """A suppression or a hold is a message fact, recorded with the ledger row it decides; a send's waits for the provider."""
    if decision.action == "send":
        return []
    status = "held" if decision.action == "defer" else "suppressed"
    return outcome_facts(request, status, decision.channel or request.step.channel, decision.reason)


def _deferral(decision: Decision) -> str:
    assert decision.retry_at is not None
    return f"deferred until {decision.retry_at.isoformat()}: {decision.reason}"
