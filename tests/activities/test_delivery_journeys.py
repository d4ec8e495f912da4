"""Delivery controls seen from a journey, on the time-skipping server: what a marketer would notice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestrator.host.settings import SimulationSettings
from orchestrator.simulation.simulator import ScriptedEvent, Simulator
from tests.runtime.support import at, journey

pytestmark = pytest.mark.asyncio(loop_scope="session")

NEW_YORK = {"id": "c-1", "email": "ann@example.com", "phone": "+14155552671", "timezone": "America/New_York"}


async def test_an_sms_at_2130_waits_for_0800_even_when_the_journeys_quiet_hours_end_at_0600(simulator: Simulator) -> None:
    flow = journey(
        """
        id: late_sms
        name: Late SMS
        trigger: {event: go}
        settings: {quiet_hours: {from: "23:00", to: "06:00"}}
        steps:
          - id: text
            send: {channel: sms, body: "Sale ends tonight"}
          - id: mail
            send: {channel: email, subject: "Sale", body: "x"}
        """
    )
    start = datetime(2026, 1, 6, 2, 30, tzinfo=UTC)  # 21:30 in New York
    timeline = await simulator.run(flow, {**NEW_YORK, "sms_opt_in": True}, [ScriptedEvent(0, "go")], start)
    assert [(m["channel"], m["at"]) for m in timeline.messages] == [
        ("sms", at("2026-01-06T13:00")),  # 08:00 local, not 06:00
        ("email", at("2026-01-06T13:00")),
    ]


async def test_a_fallback_step_reaches_the_customer_on_the_next_channel(simulator: Simulator) -> None:
    flow = journey(
        """
        id: shipped
        name: Shipped
        trigger: {event: go}
        steps:
          - id: notify
            send:
              channel: [push, sms, email]
              category: transactional
              title: "Shipped"
              subject: "Your order has shipped"
              body: "It is on its way"
        """
    )
    start = datetime(2026, 1, 6, 17, 0, tzinfo=UTC)
    # No push token, no SMS consent, unsubscribed from marketing e-mail: a transactional e-mail still goes.
    customer = {**NEW_YORK, "email_opt_in": False}
    timeline = await simulator.run(flow, customer, [ScriptedEvent(0, "go")], start)
    assert [(m["channel"], m["subject"]) for m in timeline.messages] == [("email", "Your order has shipped")]


async def test_the_daily_cap_skips_the_excess_and_counts_afresh_the_next_local_day(simulator: Simulator) -> None:
    capped = Simulator(simulator.env, SimulationSettings.read({"JOURNEY_FREQUENCY_CAP": "2/day"}))  # as `journey simulate` reads it
    flow = journey(
        """
        id: chatty
        name: Chatty
        trigger: {event: go}
        steps:
          - id: one
            send: {channel: email, subject: "one", body: "x"}
          - id: two
            send: {channel: email, subject: "two", body: "x"}
          - id: three
            send: {channel: email, subject: "three", body: "x"}
          - id: next_morning
            wait: {until: "09:00"}
          - id: four
            send: {channel: email, subject: "four", body: "x"}
        """
    )
    start = datetime(2026, 1, 6, 17, 0, tzinfo=UTC)  # 12:00 in New York
    timeline = await capped.run(flow, NEW_YORK, [ScriptedEvent(0, "go")], start)
    assert [(m["subject"], m["at"]) for m in timeline.messages] == [
        ("one", at("2026-01-06T17:00")),
        ("two", at("2026-01-06T17:00")),
        # three: over 2/day, skipped
        ("four", at("2026-01-07T14:00")),  # 09:00 the next local day: a new count
    ]
