"""`journey simulate` shows why nothing happened: skipped and held sends, refused entry, webhooks, an exit's reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from orchestrator.cli import main

JOURNEYS = Path(__file__).parents[2] / "journeys"
CART_STARTED = "- {at: 0, event: checkout_started, properties: {cart_value: 50, cart_url: 'https://shop.example.com/c'}}\n"

TICKET = """
id: ticket
name: Ticket
trigger: {event: signed_up}
steps:
  - id: open_ticket
    webhook:
      url: "https://support.example.com/tickets"
      body: {customer: "{{ customer.id }}"}
  - id: hand_over
    exit: {reason: "enterprise account: onboarding is run by customer success"}
"""


def simulate(tmp_path: Path, journey: Path, customer: dict[str, Any], events: str, *options: str) -> Any:
    (tmp_path / "customer.json").write_text(json.dumps(customer))
    (tmp_path / "events.yaml").write_text(events)
    args = ["simulate", str(journey), "--customer", str(tmp_path / "customer.json"), "--events", str(tmp_path / "events.yaml")]
    result = CliRunner().invoke(main, [*args, "--start", "2026-03-02T14:00:00Z", *options])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_send_that_sent_nothing_is_listed_as_skipped_with_its_reason(tmp_path: Path) -> None:
    output = simulate(tmp_path, JOURNEYS / "abandoned_cart.yaml", {"id": "c-1", "country": "US"}, CART_STARTED, "--format", "json")
    timeline = json.loads(output)
    assert list(timeline) == ["journey", "version", "steps", "awaited", "messages", "skipped", "webhooks", "problems", "merges", "outcome"]
    assert timeline["messages"] == []
    assert timeline["skipped"][0] == {
        "at": "2026-03-02T15:00:00Z",
        "step": "reminder",
        "channel": "email",
        "reason": "the profile has no email address",
    }
    text = simulate(tmp_path, JOURNEYS / "abandoned_cart.yaml", {"id": "c-1", "country": "US"}, CART_STARTED)
    assert "2026-03-02T15:00:00Z    email not sent: the profile has no email address" in text


def test_a_message_held_by_quiet_hours_carries_when_it_was_due_and_why(tmp_path: Path) -> None:
    customer = {"id": "s-1", "email": "sam@example.com", "country": "US", "email_opt_in": True, "timezone": "America/Los_Angeles"}
    (tmp_path / "customer.json").write_text(json.dumps(customer))
    args = ["simulate", str(JOURNEYS / "holiday_broadcast.yaml"), "--customer", str(tmp_path / "customer.json")]
    result = CliRunner().invoke(main, [*args, "--start", "2026-12-15T15:00:00Z", "--format", "json"])
    assert result.exit_code == 0, result.output
    (message,) = json.loads(result.output)["messages"]
    assert (message["due"], message["at"]) == ("2026-12-15T15:00:00Z", "2026-12-15T16:00:00Z")
    assert message["held"] == "quiet hours 21:00-08:00 (America/Los_Angeles)"


def test_not_entered_says_which_rule_refused(tmp_path: Path) -> None:
    events = "- {at: 1h, event: checkout_started, properties: {cart_value: 5, cart_url: 'https://shop.example.com/c'}}\n"
    output = simulate(tmp_path, JOURNEYS / "abandoned_cart.yaml", {"id": "c-1", "email": "ann@example.com"}, events, "--format", "json")
    assert json.loads(output)["outcome"] == {
        "status": "not_entered",
        "step": None,
        "at": "2026-03-02T14:00:00Z",
        "reason": "event checkout_started at 2026-03-02T15:00:00Z: the trigger's where is false",
    }


def test_webhook_calls_and_an_exit_reason_are_in_the_output(tmp_path: Path) -> None:
    (tmp_path / "ticket.yaml").write_text(TICKET)
    output = simulate(tmp_path, tmp_path / "ticket.yaml", {"id": "c-1"}, "- {at: 0, event: signed_up}\n", "--format", "json")
    timeline = json.loads(output)
    assert timeline["webhooks"] == [
        {"at": "2026-03-02T14:00:00Z", "step": "open_ticket", "method": "POST", "url": "https://support.example.com/tickets",
         "body": '{"customer":"c-1"}'}
    ]
    assert timeline["outcome"]["reason"] == "enterprise account: onboarding is run by customer success"
    text = simulate(tmp_path, tmp_path / "ticket.yaml", {"id": "c-1"}, "- {at: 0, event: signed_up}\n")
    assert text.rstrip().endswith("outcome  exited at step hand_over: enterprise account: onboarding is run by customer success")


def test_a_customer_without_an_id_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "customer.json").write_text(json.dumps({"email": "ann@example.com"}))
    result = CliRunner().invoke(main, ["simulate", str(JOURNEYS / "weekly_digest.yaml"), "--customer", str(tmp_path / "customer.json")])
    assert result.exit_code == 2
    assert 'the customer has no "id"' in result.output


TRAVEL = """
id: travel
name: Travel
trigger: {event: trip_booked}
exit_on: [unsubscribed]
steps:
  - id: remember
    update: {compute: {timezone: "event.tz"}}
  - id: tell_partner
    webhook:
      url: "{{ event.callback }}"
  - id: tell_crm
    webhook:
      url: "https://crm.example.com/trips/{{ event.trip.id }}"
  - id: later
    wait: 1d
"""
BOOKED = "- {at: 0, event: trip_booked, properties: {tz: Mars/Olympus, callback: 'ftp://files.example.com/c-1'}}\n"


def test_what_an_update_or_a_webhook_could_not_do_is_in_the_output(tmp_path: Path) -> None:
    (tmp_path / "travel.yaml").write_text(TRAVEL)
    events = BOOKED + "- {at: 2h, event: unsubscribed}\n"
    timeline = json.loads(simulate(tmp_path, tmp_path / "travel.yaml", {"id": "c-1"}, events, "--format", "json"))
    assert [(p["at"], p["step"], p["field"]) for p in timeline["problems"]] == [
        ("2026-03-02T14:00:00Z", "remember", "timezone"),
        ("2026-03-02T14:00:00Z", "tell_partner", "url"),
        ("2026-03-02T14:00:00Z", "tell_crm", "url"),
    ]
    refused, not_http, failed = (p["problem"] for p in timeline["problems"])
    assert refused.startswith("not written: 'Mars/Olympus' is not an IANA time zone")
    assert not_http == "not called: '{{ event.callback }}' did not render to an http:// or https:// address with a host"
    assert failed == "not called: 'https://crm.example.com/trips/{{ event.trip.id }}' did not render: 'dict object' has no attribute 'trip'"
    assert timeline["webhooks"] == []  # neither call was made
    assert timeline["outcome"] == {"status": "exited", "step": "later", "at": "2026-03-02T16:00:00Z", "reason": "exit_on: unsubscribed"}

    text = simulate(tmp_path, tmp_path / "travel.yaml", {"id": "c-1"}, events).splitlines()
    entered = text.index("2026-03-02T14:00:00Z  step     tell_partner")
    assert text[entered + 1] == f"2026-03-02T14:00:00Z    problem url: {not_http}"
    assert text[-1] == "2026-03-02T16:00:00Z  outcome  exited at step later: exit_on: unsubscribed"


NPS_ANSWERED = (
    "- {at: 0, event: order_delivered, properties: {order_id: A-1}}\n"
    "- {at: 3d2h, event: nps_submitted, properties: {score: 10}}\n"
)


def test_the_event_a_wait_matched_is_shown_where_the_steps_after_it_read_it(tmp_path: Path) -> None:
    customer = {"id": "c-1", "email": "kim@example.com"}
    timeline = json.loads(simulate(tmp_path, JOURNEYS / "nps_survey.yaml", customer, NPS_ANSWERED, "--format", "json"))
    answer = {"name": "nps_submitted", "properties": {"score": 10}, "timestamp": "2026-03-05T16:00:00Z"}
    assert timeline["awaited"] == {"await_score": answer}
    text = simulate(tmp_path, JOURNEYS / "nps_survey.yaml", customer, NPS_ANSWERED).splitlines()
    answered = text.index('2026-03-05T16:00:00Z    events.await_score = nps_submitted {"score": 10}')
    assert text[answered - 1].endswith("step     await_score") and text[answered + 1].endswith("step     route_by_score")
