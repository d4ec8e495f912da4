"""`journey stats` as text and as Markdown: golden files of a journey with a split and a holdout.

The files are what a reader sees; a change to them is a change to the product, so it shows in the diff.
After an intended change, rewrite them with `JOURNEY_UPDATE_GOLDEN=1 pytest tests/analytics/test_report_views.py`
and read the diff.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from orchestrator.analytics.counts import (
    DayCounts,
    GroupCounts,
    JourneyCounts,
    MessageCounts,
    MetricCounts,
    MetricSample,
    SplitCounts,
    StepCounts,
    ValueSample,
)
from orchestrator.analytics.report import JourneyReport, journey_report
from orchestrator.analytics.report_markdown import render_markdown
from orchestrator.analytics.report_text import MIN_BAR, bar, render_text
from orchestrator.compiler import compile_file

GOLDEN = Path(__file__).parent / "golden"
JOURNEYS = Path(__file__).parents[2] / "journeys"


def split_with_holdout() -> JourneyReport:
    """The shipped subject-line test (arms a and b, a 10 % holdout) in March: 5,600 entered, 5,400 matured."""
    result = compile_file(JOURNEYS / "subject_line_test.yaml")
    assert result.journey is not None
    journey = result.journey
    benefit = MessageCounts(sent=2500, delivered=2450, opened=1225, clicked=245, bounced=40, failed=10, held=310,
                            suppressed={"no consent": 20})  # fmt: skip
    question = MessageCounts(sent=2500, delivered=2440, opened=1342, clicked=310, bounced=50, failed=10, held=290,
                             suppressed={"no consent": 18, "frequency cap": 2})  # fmt: skip
    follow_up = MessageCounts(sent=4400, delivered=4350, opened=1740, clicked=261, bounced=30, failed=20)
    counts = JourneyCounts(
        journey=journey.id, versions=(journey.version,), first_day=date(2026, 3, 1), last_day=date(2026, 3, 31),
        entered=5600, customers=5580, waiting=380, completed=4600, exited=60, holdout=560, failed=0, converted=640, matured=5400,
        goal_values=ValueSample(640, 32000.0, 1_800_000.0),
        steps=(
            StepCounts("subject_test", 5600, 0),
            StepCounts("kickoff_benefit", 2520, 0, benefit, credited=150),
            StepCounts("kickoff_question", 2520, 0, question, credited=190),
            StepCounts("wait_three_days", 4980, 380),
            StepCounts("follow_up", 4600, 0, follow_up, credited=240),
        ),
        splits=(
            SplitCounts("subject_test", (
                GroupCounts("a", 2520, 2430, 260, ValueSample(260, 13000.0, 730_000.0)),
                GroupCounts("b", 2520, 2430, 330, ValueSample(330, 16500.0, 925_000.0)),
                GroupCounts("holdout", 560, 540, 50, ValueSample(50, 2500.0, 145_000.0)),
            )),
        ),
        metrics=(
            MetricCounts(
                "nps", "nps", MetricSample(ValueSample(400, 3100.0, 26000.0), {"promoter": 180, "passive": 140, "detractor": 80}),
                by_arm={"subject_test": {
                    "a": MetricSample(ValueSample(180, 1380.0, 11500.0), {"promoter": 78, "passive": 64, "detractor": 38}),
                    "b": MetricSample(ValueSample(190, 1490.0, 12400.0), {"promoter": 90, "passive": 66, "detractor": 34}),
                }},
                by_week={"2026-W10": MetricSample(ValueSample(150, 1150.0, 9600.0), {"promoter": 66, "passive": 54, "detractor": 30}),
                         "2026-W11": MetricSample(ValueSample(250, 1950.0, 16400.0), {"promoter": 114, "passive": 86, "detractor": 50})},
            ),
            MetricCounts("effort", "ces", MetricSample(ValueSample(120, 300.0, 870.0))),
        ),
        daily=(DayCounts(date(2026, 3, 1), entered=180, converted=3, sent=150),),
    )  # fmt: skip
    return journey_report(counts, [journey], datetime(2026, 4, 15, 8, 30, tzinfo=UTC))


def check_golden(name: str, rendered: str) -> None:
    path = GOLDEN / name
    if os.environ.get("JOURNEY_UPDATE_GOLDEN") == "1":
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8"), f"{name} changed: rewrite it with JOURNEY_UPDATE_GOLDEN=1 and read the diff"


def test_the_terminal_view_matches_its_golden_file() -> None:
    check_golden("split_with_holdout.txt", render_text(split_with_holdout(), width=120))


def test_the_markdown_view_matches_its_golden_file() -> None:
    check_golden("split_with_holdout.md", render_markdown(split_with_holdout()))


def test_the_terminal_view_has_no_escape_codes_and_its_funnel_fits_the_width() -> None:
    for width in (80, 120, 200):
        text = render_text(split_with_holdout(), width=width)
        assert "\x1b" not in text
        funnel = text.split("Funnel (reached, of entered)\n", 1)[1].split("\n\n", 1)[0].splitlines()
        assert all(len(line) <= width for line in funnel), (width, funnel)
        assert "█" in funnel[0] and funnel[0].count("█") > funnel[1].count("█")  # all 5,600 against 2,520


def test_the_markdown_view_has_no_bars_and_the_verdict_in_bold() -> None:
    markdown = render_markdown(split_with_holdout())
    assert not any(block in markdown for block in "█▏▎▍▌▋▊▉")
    assert "\n**b converts better than holdout: +4.3 points, 95% CI +1.3 to +6.9**\n" in markdown


@pytest.mark.parametrize(("fraction", "drawn"), [(0.0, ""), (1.0, "██████████"), (0.5, "█████"), (0.05, "▌"), (0.0125, "▏")])
def test_bars_are_drawn_to_an_eighth_of_a_cell(fraction: float, drawn: str) -> None:
    assert bar(fraction, MIN_BAR) == drawn.ljust(MIN_BAR)
