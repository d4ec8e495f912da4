"""`journey simulate` and `journey test` as a user runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from orchestrator.cli import main

JOURNEYS = Path(__file__).parents[2] / "journeys"


def test_simulate_prints_the_timeline_as_json(tmp_path: Path) -> None:
    (tmp_path / "customer.json").write_text(json.dumps({"id": "c-1", "email": "ann@example.com", "country": "US"}))
    (tmp_path / "events.yaml").write_text(
        "- {at: 0, event: checkout_started, properties: {cart_value: 50, cart_url: 'https://shop.example.com/c'}}\n"
        "- {at: 2h, event: order_completed}\n"
    )
    args = ["simulate", str(JOURNEYS / "abandoned_cart.yaml"), "--customer", str(tmp_path / "customer.json")]
    args += ["--events", str(tmp_path / "events.yaml"), "--start", "2026-03-02T14:00:00Z", "--format", "json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    timeline = json.loads(result.output)
    assert list(timeline) == ["journey", "version", "steps", "awaited", "messages", "skipped", "webhooks", "problems", "merges", "outcome"]
    assert timeline["journey"] == "abandoned_cart"
    assert timeline["steps"] == [
        {"step": "wait_an_hour", "at": "2026-03-02T14:00:00Z"},
        {"step": "reminder", "at": "2026-03-02T15:00:00Z"},
        {"step": "opened", "at": "2026-03-02T15:00:00Z"},
    ]
    (message,) = timeline["messages"]
    assert list(message) == ["at", "step", "channel", "to", "subject", "body"]
    assert message["at"] == "2026-03-02T15:00:00Z"
    assert (message["to"], message["subject"]) == ("ann@example.com", "Hi, you left something behind")
    assert timeline["outcome"] == {
        "status": "converted",
        "step": "opened",
        "at": "2026-03-02T16:00:00Z",
        "reason": "goal: order_completed",
    }


def test_simulate_ignores_events_after_the_enrollment_ended(tmp_path: Path) -> None:
    (tmp_path / "customer.json").write_text(json.dumps({"id": "c-1", "email": "ann@example.com", "country": "US"}))
    (tmp_path / "events.yaml").write_text(
        "- {at: 0, event: checkout_started, properties: {cart_value: 50, cart_url: 'https://shop.example.com/c'}}\n"
        "- {at: 2h, event: order_completed}\n"
        "- {at: 3h, event: order_completed}\n"
    )
    args = ["simulate", str(JOURNEYS / "abandoned_cart.yaml"), "--customer", str(tmp_path / "customer.json")]
    args += ["--events", str(tmp_path / "events.yaml"), "--start", "2026-03-02T14:00:00Z", "--format", "json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["outcome"] == {
        "status": "converted",
        "step": "opened",
        "at": "2026-03-02T16:00:00Z",
        "reason": "goal: order_completed",
    }


def test_simulate_refuses_a_bad_trait_as_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "customer.json").write_text(json.dumps({"id": "c-1", "email": "not an address"}))
    result = CliRunner().invoke(main, ["simulate", str(JOURNEYS / "weekly_digest.yaml"), "--customer", str(tmp_path / "customer.json")])
    assert result.exit_code == 2
    assert "the profile refuses a trait: email" in result.output


def test_journey_test_passes_and_fails_with_a_readable_diff(tmp_path: Path) -> None:
    shutil.copy(JOURNEYS / "weekly_digest.yaml", tmp_path)
    shutil.copytree(JOURNEYS / "templates", tmp_path / "templates")
    (tmp_path / "tests").mkdir()
    case = """
journey: ../weekly_digest.yaml
start: "2026-01-05T09:00:00Z"
customer: {id: r-1, email: ava@example.com, updates_last_week: 3}
cases:
  - name: digest
    expect:
      messages: [{step: digest_email, at: "2026-01-05T09:00:00Z", subject: "Your week at Acme: SUBJECT"}]
      outcome: {status: completed}
"""
    (tmp_path / "tests" / "digest.yaml").write_text(case.replace("SUBJECT", "3 updates"))
    passed = CliRunner().invoke(main, ["test", str(tmp_path)])
    assert passed.exit_code == 0, passed.output
    assert "1 passed, 0 failed" in passed.output

    (tmp_path / "tests" / "digest.yaml").write_text(case.replace("SUBJECT", "4 updates"))
    failed = CliRunner().invoke(main, ["test", str(tmp_path / "tests" / "digest.yaml")])
    assert failed.exit_code == 1
    assert "FAIL" in failed.output and "1 passed" not in failed.output
    assert "-at='2026-01-05T09:00:00Z' step='digest_email' subject='Your week at Acme: 4 updates'" in failed.output
    assert "+at='2026-01-05T09:00:00Z' step='digest_email' subject='Your week at Acme: 3 updates'" in failed.output
