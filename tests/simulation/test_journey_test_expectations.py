"""`journey test` cases can expect skipped sends and the outcome's reason."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from orchestrator.cli import main

JOURNEYS = Path(__file__).parents[2] / "journeys"

CASES = """
journey: ../holiday_broadcast.yaml
start: "2026-12-15T15:00:00Z"
customer: {id: s-1, email: sam@example.com, country: US, email_opt_in: true, timezone: America/Los_Angeles}
cases:
  - name: an order while the email is held converts, and the email is skipped
    events:
      - {at: 30m, event: order_completed}
    expect:
      messages: []
      skipped:
        - {step: sale_email, channel: email, at: "2026-12-15T15:00:00Z", reason_contains: "REASON"}
  - name: customers outside the US are not in the audience
    customer: {country: CA}
    expect:
      outcome: {status: not_entered, reason: "the broadcast firing at 2026-12-15T15:00:00Z: not in the audience"}
"""


def test_skipped_sends_and_the_outcome_reason_are_compared(tmp_path: Path) -> None:
    shutil.copy(JOURNEYS / "holiday_broadcast.yaml", tmp_path)
    shutil.copytree(JOURNEYS / "templates", tmp_path / "templates")
    (tmp_path / "tests").mkdir()
    case = tmp_path / "tests" / "holiday.yaml"
    case.write_text(CASES.replace("REASON", "never sent: the enrollment ended first"))
    passed = CliRunner().invoke(main, ["test", str(case)])
    assert passed.exit_code == 0, passed.output
    assert "2 passed, 0 failed" in passed.output

    case.write_text(CASES.replace("REASON", "no consent"))
    failed = CliRunner().invoke(main, ["test", str(case)])
    assert failed.exit_code == 1
    assert "skipped differ" in failed.output and "1 passed, 1 failed" in failed.output
