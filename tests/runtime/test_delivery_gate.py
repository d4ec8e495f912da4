"""The delivery gate and the send activity, without Temporal: consent, quiet hours, the cap, exactly-once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from activities.delivery_gate import decide, settings_from_json
from activities.journey_activities import JourneyActivities
from orchestrator import ir
from orchestrator.runtime.contracts import SendRequest
from orchestrator.store import Store

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CUSTOMER: dict[str, Any] = {"email": "ann@example.com", "phone": None, "push_tokens": [], "timezone": "America/New_York"}
CONSENT = {"email_opt_in": True, "sms_opt_in": False, "push_opt_in": True}
NIGHT = ir.Settings(timezone="UTC", quiet_hours=ir.QuietHours("21:00", "08:00"), frequency_cap=ir.FrequencyCap(2, 86400))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def check(now: str, *, category: str = "marketing", channel: str = "email", recent: tuple[str, ...] = (), **traits: Any) -> Any:
    customer = {**CUSTOMER, **CONSENT, **traits}
    return decide(
        channel=channel, category=category, customer=customer, settings=NIGHT, now=utc(now), recent_sends=[utc(r) for r in recent]
    )


def test_a_message_outside_quiet_hours_goes() -> None:
    assert check("2026-01-05T15:00").action == "send"  # 10:00 in New York


def test_quiet_hours_crossing_midnight_hold_until_they_end_locally() -> None:
    evening = check("2026-01-06T03:00")  # 22:00 EST
    assert (evening.action, evening.retry_at) == ("defer", utc("2026-01-06T13:00"))
    early = check("2026-01-06T12:59")  # 07:59 EST
    assert (early.action, early.retry_at) == ("defer", utc("2026-01-06T13:00"))
    assert check("2026-01-06T13:00").action == "send"  # 08:00 sharp: the window has ended


def test_quiet_hours_end_at_local_time_on_the_day_clocks_change() -> None:
    # New York springs forward on 2026-03-08: 08:00 that morning is EDT, 12:00 UTC.
    assert check("2026-03-08T06:00").retry_at == utc("2026-03-08T12:00")


def test_transactional_messages_ignore_quiet_hours_and_the_cap() -> None:
    full = ("2026-01-06T01:00", "2026-01-06T02:00")
    assert check("2026-01-06T03:00", category="transactional", recent=full).action == "send"


def test_the_cap_counts_messages_within_the_window_only() -> None:
    assert check("2026-01-06T15:00", recent=("2026-01-05T15:30", "2026-01-06T14:00")).action == "suppress"
    assert check("2026-01-06T15:00", recent=("2026-01-05T15:00", "2026-01-06T14:00")).action == "send"  # a day ago exactly


def test_consent_and_addresses() -> None:
    assert check("2026-01-05T15:00", email_opt_in=False).reason == "no consent: the customer has not opted in to email"
    assert check("2026-01-05T15:00", channel="sms", phone="+14155552671").action == "suppress"  # no SMS opt-in
    assert check("2026-01-05T15:00", channel="sms", sms_opt_in=True).reason == "the profile has no phone number"
    assert check("2026-01-05T15:00", channel="sms", sms_opt_in=True, phone="+14155552671").action == "send"
    assert check("2026-01-05T15:00", channel="push").reason == "the profile has no push token"


def test_a_customer_without_a_zone_uses_the_journeys() -> None:
    assert check("2026-01-05T22:00", timezone=None).action == "defer"  # 22:00 UTC


def test_settings_travel_as_ir_json() -> None:
    assert settings_from_json(ir.to_plain(NIGHT)) == NIGHT
    assert settings_from_json({}) == ir.Settings()


def send_request(visit: int = 1) -> SendRequest:
    return SendRequest(
        enrollment_id="e-1",
        journey_id="j",
        version="v1",
        step_id="hello",
        visit=visit,
        customer_id="c-1",
        channel="email",
        category="marketing",
        subject="Hello {{ customer.email }}",
        preheader=None,
        title=None,
        body="x",
        url=None,
        event=None,
        now=START.isoformat(),
        settings=ir.to_plain(ir.Settings()),
    )


def test_sending_the_same_request_twice_delivers_once(store: Store) -> None:
    with store.session() as session:
        session.identify("c-1", {"email": "ann@example.com"}, START)
    activities = JourneyActivities(store)
    first, again = activities.send_message(send_request()), activities.send_message(send_request())
    assert (first.status, again.status) == ("sent", "sent")
    with store.session() as session:
        assert [m.subject for m in session.messages_for("c-1")] == ["Hello ann@example.com"]
    # A later visit of the same step is a new message.
    assert activities.send_message(send_request(visit=2)).status == "sent"
