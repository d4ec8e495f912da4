"""A simulated broadcast enrolls its customer when its schedule fires, not at `--start`."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from orchestrator.cli import main

JOURNEYS = Path(__file__).parents[2] / "journeys"


def simulate(tmp_path: Path, journey: str, customer: dict[str, object], start: str) -> dict[str, object]:
    (tmp_path / "customer.json").write_text(json.dumps(customer))
    args = ["simulate", str(JOURNEYS / journey), "--customer", str(tmp_path / "customer.json"), "--start", start, "--format", "json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    timeline: dict[str, object] = json.loads(result.output)
    return timeline


def test_a_weekly_broadcast_started_on_a_tuesday_enrolls_the_next_monday_at_nine_london_time(tmp_path: Path) -> None:
    customer = {"id": "r-1", "email": "ava@example.com", "updates_last_week": 2}
    timeline = simulate(tmp_path, "weekly_digest.yaml", customer, "2026-01-06T12:00:00Z")
    assert timeline["steps"][0] == {"step": "anything_new", "at": "2026-01-12T09:00:00Z"}  # type: ignore[index]
    (message,) = timeline["messages"]  # type: ignore[misc]
    assert message["at"] == "2026-01-12T09:00:00Z"


def test_a_cron_firing_exactly_at_the_start_enrolls_at_the_start(tmp_path: Path) -> None:
    customer = {"id": "r-1", "email": "ava@example.com", "updates_last_week": 2}
    timeline = simulate(tmp_path, "weekly_digest.yaml", customer, "2026-01-05T09:00:00Z")
    assert timeline["steps"][0] == {"step": "anything_new", "at": "2026-01-05T09:00:00Z"}  # type: ignore[index]


def test_a_one_off_broadcast_enrolls_at_its_moment(tmp_path: Path) -> None:
    customer = {"id": "s-1", "email": "sam@example.com", "country": "US", "email_opt_in": True, "timezone": "America/New_York"}
    timeline = simulate(tmp_path, "holiday_broadcast.yaml", customer, "2026-12-01T00:00:00Z")
    assert timeline["steps"][0] == {"step": "sale_email", "at": "2026-12-15T15:00:00Z"}  # type: ignore[index]


def test_a_one_off_broadcast_before_the_start_says_it_never_fires(tmp_path: Path) -> None:
    customer = {"id": "s-1", "email": "sam@example.com", "country": "US", "email_opt_in": True}
    timeline = simulate(tmp_path, "holiday_broadcast.yaml", customer, "2026-12-16T00:00:00Z")
    assert timeline["outcome"] == {
        "status": "not_entered",
        "step": None,
        "at": "2026-12-16T00:00:00Z",
        "reason": "the broadcast fires once, at 2026-12-15T15:00:00Z, before the start 2026-12-16T00:00:00Z:"
        " start the simulation at or before it",
    }
