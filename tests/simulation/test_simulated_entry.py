"""A simulation enters the customer by the router's entry rules, expression scope included."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from orchestrator.cli import main

TAGGED = """
id: tagged
name: Tagged
trigger: {event: signed_up, where: "journey.id == 'tagged' and journey.version is defined and event.plan == 'pro'"}
entry: {audience: "journey.id == 'tagged'"}
steps:
  - id: hello
    send: {channel: email, subject: "Hi from {{ journey.id }}", body: "Welcome"}
"""


def simulate(tmp_path: Path, events: str) -> dict[str, object]:
    (tmp_path / "tagged.yaml").write_text(TAGGED)
    (tmp_path / "customer.json").write_text(json.dumps({"id": "c-1", "email": "ann@example.com"}))
    (tmp_path / "events.yaml").write_text(events)
    args = ["simulate", str(tmp_path / "tagged.yaml"), "--customer", str(tmp_path / "customer.json")]
    args += ["--events", str(tmp_path / "events.yaml"), "--start", "2026-03-02T14:00:00Z", "--format", "json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    timeline: dict[str, object] = json.loads(result.output)
    return timeline


def test_the_trigger_and_the_audience_read_the_journey_as_the_router_does(tmp_path: Path) -> None:
    events = "- {at: 0, event: signed_up, properties: {plan: free}}\n- {at: 1h, event: signed_up, properties: {plan: pro}}\n"
    timeline = simulate(tmp_path, events)
    assert timeline["steps"] == [{"step": "hello", "at": "2026-03-02T15:00:00Z"}]
    assert timeline["outcome"] == {"status": "completed", "step": "hello", "at": "2026-03-02T15:00:00Z"}
    (message,) = timeline["messages"]  # type: ignore[misc]
    assert message["subject"] == "Hi from tagged"
