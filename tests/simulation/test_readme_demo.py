"""The README's demo says what happens: Ann's reminder an hour after her checkout, or at 08:00 New York time in quiet hours.

The customer and the event are read from the README's own `journey send` lines, so
the demo and this test cannot drift apart; the journey is the shipped one.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import main

ROOT = Path(__file__).resolve().parents[2]


def demo_calls() -> tuple[dict[str, object], dict[str, object]]:
    """The demo's customer (identify traits) and checkout event (track properties), as the README writes them."""
    customer: dict[str, object] = {}
    event: dict[str, object] = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        words = shlex.split(line.split("#")[0]) if "journey send" in line else []
        if words[1:3] == ["send", "identify"]:
            customer = {"id": words[3]} | dict(w.split("=", 1) for w in words[5::2])
        elif words[1:3] == ["send", "track"]:
            props = dict(w.split("=", 1) for w in words[6::2])
            event = {"event": words[4], "properties": {k: float(v) if v.replace(".", "").isdigit() else v for k, v in props.items()}}
    assert customer and event, "the README's demo lost its journey send lines"
    return customer, event


@pytest.mark.parametrize(
    ("start", "reminder_at"),
    [
        ("2026-03-02T19:00:00Z", "2026-03-02T20:00:00Z"),  # 14:00 in New York: an hour later
        ("2026-03-03T01:30:00Z", "2026-03-03T13:00:00Z"),  # 20:30 in New York: the hour ends in quiet hours, 08:00
    ],
)
def test_the_demo_reminder_comes_an_hour_later_or_when_quiet_hours_end(tmp_path: Path, start: str, reminder_at: str) -> None:
    customer, event = demo_calls()
    (tmp_path / "ann.json").write_text(json.dumps(customer))
    (tmp_path / "events.yaml").write_text(json.dumps([{"at": "0s", **event}]))
    args = ["simulate", str(ROOT / "journeys" / "abandoned_cart.yaml"), "--customer", str(tmp_path / "ann.json")]
    args += ["--events", str(tmp_path / "events.yaml"), "--start", start, "--format", "json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    timeline = json.loads(result.output)
    assert [(m["step"], m["at"]) for m in timeline["messages"]][:1] == [("reminder", reminder_at)]


def test_the_readme_simulation_runs_the_rest_of_the_journey() -> None:
    result = CliRunner().invoke(
        main,
        ["simulate", str(ROOT / "journeys/abandoned_cart.yaml"), "--customer", str(ROOT / "docs/examples/ann.json"),
         "--events", str(ROOT / "docs/examples/cart_events.yaml"), "--start", "2026-03-02T19:00:00Z", "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    timeline = json.loads(result.output)
    assert [m["step"] for m in timeline["messages"]] == ["reminder"]  # the order the next day ends it before the nudge
    assert timeline["outcome"]["status"] == "converted"
