"""The delivery gate as a pure function, with a fixed clock: who may get what, on which channel, when.

The customer lives in New York (EST, UTC-5 in January): 2026-01-06T02:30Z is 21:30 local on 5 January.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from activities.delivery_gate import Decision, DeliveryPolicy, PastSend, decide
from orchestrator import ir
from orchestrator.store import Profile

CUSTOMER: dict[str, Any] = {
    "email": "ann@example.com",
    "phone": "+14155552671",
    "push_tokens": ["tok-1"],
    "timezone": "America/New_York",
    "email_opt_in": True,
    "sms_opt_in": True,
    "push_opt_in": True,
}
NONE = ir.Settings()
NIGHT = ir.Settings(quiet_hours=ir.QuietHours("21:00", "08:00"), frequency_cap=ir.FrequencyCap(2, 86400))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def profile(**traits: Any) -> Profile:
    """The customer as the gate reads them: CUSTOMER with `traits` over it; opt-ins are consent, unknown names plain traits."""
    fields = {**CUSTOMER, **traits}
    consent = {channel: bool(fields.pop(f"{channel}_opt_in", False)) for channel in ("email", "sms", "push")}
    created = utc("2026-01-01T00:00")
    return Profile(
        customer_id="ann",
        email=fields.pop("email", None),
        phone=fields.pop("phone", None),
        push_tokens=tuple(fields.pop("push_tokens", ())),
        timezone=fields.pop("timezone", None),
        locale=fields.pop("locale", None),
        consent=consent,
        traits=fields,
        created_at=created,
        updated_at=created,
    )


def check(
    now: str,
    *,
    channels: tuple[str, ...] = ("email",),
    category: str = "marketing",
    settings: ir.Settings = NONE,
    past: tuple[tuple[str, str], ...] = (),
    daily_cap: int | None = None,
    **traits: Any,
) -> Decision:
    return decide(
        channels=channels,
        category=category,
        profile=profile(**traits),
        settings=settings,
        now=utc(now),
        journey_id="this",
        past_sends=[PastSend(journey, utc(at)) for journey, at in past],
        policy=DeliveryPolicy(daily_cap=daily_cap),
    )


# --- consent, addresses, undeliverable flags ----------------------------------------------


def test_marketing_needs_the_channels_opt_in() -> None:
    assert check("2026-01-05T15:00", email_opt_in=False).reason == "no consent: the customer has not opted in to email"
    assert check("2026-01-05T15:00", channels=("sms",), sms_opt_in=False).action == "suppress"
    assert check("2026-01-05T15:00", channels=("push",), push_opt_in=False).action == "suppress"
    assert check("2026-01-05T15:00", channels=("sms",)).action == "send"


def test_transactional_email_goes_to_a_customer_who_unsubscribed_from_marketing() -> None:
    decision = check("2026-01-05T15:00", category="transactional", email_opt_in=False)
    assert (decision.action, decision.channel) == ("send", "email")


def test_an_sms_stop_blocks_transactional_sms_too() -> None:
    decision = check("2026-01-05T15:00", channels=("sms",), category="transactional", sms_opt_in=False)
    assert (decision.action, decision.reason) == ("suppress", "no consent: the customer has not opted in to sms")


def test_an_undeliverable_address_gets_nothing_whatever_the_category() -> None:
    for category in ("marketing", "transactional"):
        bounced = check("2026-01-05T15:00", category=category, email_undeliverable=True)
        assert (bounced.action, bounced.reason) == ("suppress", "the email address is marked undeliverable (email_undeliverable)")
        dead_phone = check("2026-01-05T15:00", channels=("sms",), category=category, phone_undeliverable=True)
        assert dead_phone.action == "suppress"


def test_a_channel_without_an_address_is_suppressed() -> None:
    assert check("2026-01-05T15:00", channels=("sms",), phone=None).reason == "the profile has no phone number"
    assert check("2026-01-05T15:00", channels=("push",), push_tokens=[]).reason == "the profile has no push token"


def test_a_customer_never_identified_gets_nothing() -> None:
    reasons = {"marketing": "no consent: the customer has not opted in to email", "transactional": "the profile has no email address"}
    for category, reason in reasons.items():
        decision = decide(channels=["email"], category=category, profile=None, settings=NONE, now=utc("2026-01-05T15:00"))
        assert (decision.action, decision.reason) == ("suppress", reason)


# --- channel fallback -------------------------------------------------------------------------


def test_fallback_uses_the_first_channel_the_customer_can_be_reached_on() -> None:
    everything = ("push", "sms", "email")
    assert check("2026-01-05T15:00", channels=everything).channel == "push"
    assert check("2026-01-05T15:00", channels=everything, push_tokens=[]).channel == "sms"
    no_push_no_sms = check("2026-01-05T15:00", channels=everything, push_tokens=[], sms_opt_in=False)
    assert (no_push_no_sms.action, no_push_no_sms.channel) == ("send", "email")
    bounced_too = check("2026-01-05T15:00", channels=everything, push_tokens=[], sms_opt_in=False, email_undeliverable=True)
    assert bounced_too.action == "suppress"
    assert bounced_too.reason == (
        "push: the profile has no push token; sms: no consent: the customer has not opted in to sms; "
        "email: the email address is marked undeliverable (email_undeliverable)"
    )


def test_fallback_waits_for_a_held_channel_rather_than_switching() -> None:
    # 21:30 local: the customer can be reached by SMS, just not now; the SMS is held, not swapped for an e-mail.
    held = check("2026-01-06T02:30", channels=("sms", "email"))
    assert (held.action, held.channel, held.retry_at) == ("defer", "sms", utc("2026-01-06T13:00"))


# --- quiet hours and the SMS marketing window ------------------------------------------------


def test_quiet_hours_crossing_midnight_hold_until_they_end_locally() -> None:
    evening = check("2026-01-06T03:00", settings=NIGHT)  # 22:00 EST
    assert (evening.action, evening.retry_at) == ("defer", utc("2026-01-06T13:00"))
    assert evening.reason == "quiet hours 21:00-08:00 (America/New_York)"
    assert check("2026-01-06T12:59", settings=NIGHT).retry_at == utc("2026-01-06T13:00")  # 07:59
    assert check("2026-01-06T13:00", settings=NIGHT).action == "send"  # 08:00 sharp: the window has ended


def test_quiet_hours_end_at_local_time_on_the_day_clocks_change() -> None:
    # New York springs forward on 2026-03-08: 08:00 that morning is EDT, 12:00 UTC.
    assert check("2026-03-08T06:00", settings=NIGHT).retry_at == utc("2026-03-08T12:00")


def test_a_customer_without_a_zone_gets_the_journeys() -> None:
    assert check("2026-01-05T22:00", settings=NIGHT, timezone=None).action == "defer"  # 22:00 UTC
    assert check("2026-01-05T22:00", settings=NIGHT, timezone="Not/AZone").action == "defer"


def test_marketing_sms_is_held_outside_0800_to_2100_local_without_any_quiet_hours() -> None:
    late = check("2026-01-06T02:30", channels=("sms",))  # 21:30 EST
    assert (late.action, late.retry_at) == ("defer", utc("2026-01-06T13:00"))  # 08:00 EST
    assert late.reason == "SMS marketing only 08:00-21:00 local (TCPA) (America/New_York)"
    assert check("2026-01-06T01:59", channels=("sms",)).action == "send"  # 20:59
    assert check("2026-01-06T02:30").action == "send"  # an e-mail at 21:30 is fine


def test_journey_quiet_hours_cannot_open_the_sms_window() -> None:
    late_quiet = ir.Settings(quiet_hours=ir.QuietHours("23:00", "06:00"))
    at_2130 = check("2026-01-06T02:30", channels=("sms",), settings=late_quiet)
    assert (at_2130.action, at_2130.retry_at) == ("defer", utc("2026-01-06T13:00"))  # 08:00, not 06:00
    at_0500 = check("2026-01-06T10:00", channels=("sms",), settings=late_quiet)  # 05:00: quiet until 06:00, then TCPA
    assert at_0500.retry_at == utc("2026-01-06T13:00")
    assert at_0500.reason == "quiet hours 23:00-06:00; SMS marketing only 08:00-21:00 local (TCPA) (America/New_York)"


def test_windows_that_push_each_other_later_hold_until_both_have_ended() -> None:
    morning_quiet = ir.Settings(quiet_hours=ir.QuietHours("07:00", "10:00"))
    held = check("2026-01-06T02:30", channels=("sms",), settings=morning_quiet)  # 21:30 -> 08:00 (TCPA) -> 10:00
    assert held.retry_at == utc("2026-01-06T15:00")


def test_quiet_hours_that_leave_no_sms_time_suppress_instead_of_holding_forever() -> None:
    daytime_quiet = ir.Settings(quiet_hours=ir.QuietHours("08:00", "21:00"))
    decision = check("2026-01-05T15:00", channels=("sms",), settings=daytime_quiet)
    assert decision.action == "suppress"
    assert decision.reason is not None and "leave no time to send" in decision.reason


def test_transactional_messages_ignore_quiet_hours_the_sms_window_and_caps() -> None:
    full = (("this", "2026-01-06T01:00"), ("this", "2026-01-06T02:00"))
    assert check("2026-01-06T03:00", category="transactional", settings=NIGHT, past=full, daily_cap=1).action == "send"
    assert check("2026-01-06T04:00", channels=("sms",), category="transactional").action == "send"  # 23:00 local


# --- frequency caps ---------------------------------------------------------------------------


def test_the_journey_cap_counts_this_journeys_messages_in_a_rolling_window() -> None:
    capped = ir.Settings(frequency_cap=ir.FrequencyCap(2, 86400))
    two = (("this", "2026-01-05T15:30"), ("this", "2026-01-06T14:00"))
    decision = check("2026-01-06T15:00", settings=capped, past=two)
    assert decision.reason == "frequency cap: 2 message(s) from this journey in the last 1d (max 2)"
    a_day_ago_exactly = (("this", "2026-01-05T15:00"), ("this", "2026-01-06T14:00"))
    assert check("2026-01-06T15:00", settings=capped, past=a_day_ago_exactly).action == "send"
    other_journeys = (("other", "2026-01-05T15:30"), ("other", "2026-01-06T14:00"))
    assert check("2026-01-06T15:00", settings=capped, past=other_journeys).action == "send"


def test_the_daily_cap_counts_every_journey_on_the_customers_calendar_day() -> None:
    # 3/day; now is 20:00 EST on 6 January. Local midnight is 05:00Z.
    today = (("a", "2026-01-06T05:30"), ("b", "2026-01-06T15:00"), ("c", "2026-01-06T20:00"))
    decision = check("2026-01-07T01:00", past=today, daily_cap=3)
    assert decision.action == "suppress"
    assert decision.reason == (
        "daily frequency cap: 3 marketing message(s) today in America/New_York, all journeys together (max 3, JOURNEY_FREQUENCY_CAP)"
    )
    # 23:30 on the 5th in New York is the day before, though it is the 6th in UTC.
    yesterday_evening = (("a", "2026-01-06T04:30"), ("b", "2026-01-06T15:00"), ("c", "2026-01-06T20:00"))
    assert check("2026-01-07T01:00", past=yesterday_evening, daily_cap=3).action == "send"
    # A new local day starts a new count, even an hour after the last message.
    assert check("2026-01-07T05:00", past=today, daily_cap=3).action == "send"
    assert check("2026-01-07T01:00", past=today).action == "send"  # no daily cap configured


