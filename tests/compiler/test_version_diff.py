"""Version history: what changed between two compiled versions of a journey, said the way a marketer reads it."""

from __future__ import annotations

from pathlib import Path

from orchestrator import ir
from orchestrator.compiler import compile_text
from orchestrator.compiler.version_diff import version_changes

JOURNEYS = Path(__file__).resolve().parents[2] / "journeys"


def version(name: str, *edits: tuple[str, str]) -> ir.Journey:
    text = (JOURNEYS / f"{name}.yaml").read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    result = compile_text(text, file=f"{name}.yaml", directory=JOURNEYS)
    assert result.journey is not None, result.diagnostics
    return result.journey


def test_the_same_journey_compiled_twice_has_no_changes() -> None:
    assert version_changes(version("abandoned_cart"), version("abandoned_cart")) == []


def test_a_new_wait_and_split_weights_are_named_with_their_values() -> None:
    old = version("subject_line_test")
    new = version("subject_line_test", ("wait: 3d", "wait: 2d"), ("holdout: 10", "holdout: 20"))
    assert version_changes(old, new) == [
        "step subject_test: holdout share 10 → 20",
        "step wait_three_days: wait duration 3d → 2d",
    ]


def test_a_changed_subject_says_the_old_and_the_new_subject() -> None:
    old = version("win_back")
    subject = next(s for s in old.steps if isinstance(s, ir.SendStep) and s.id == "last_chance_email").subject
    assert subject is not None
    new = version("win_back", (subject, "Only hours left for 15% off"))
    assert version_changes(old, new) == [f"step last_chance_email: subject '{subject}' → 'Only hours left for 15% off'"]


def test_steps_added_and_removed_are_named() -> None:
    old = version("weekly_digest")
    new = version(
        "weekly_digest",
        ("      - else: nothing_to_report", "      - else: end"),
        ("  - id: nothing_to_report\n    exit: true\n", ""),
    )
    changes = version_changes(old, new)
    assert "step nothing_to_report removed" in changes
    assert "step anything_new: else step nothing_to_report → end" in changes
    assert "step nothing_to_report added (exit)" in version_changes(new, old)


def test_a_branch_condition_change_shows_the_conditions() -> None:
    old = version("weekly_digest")
    new = version("weekly_digest", ("updates_last_week | default(0) > 0", "updates_last_week | default(0) > 2"))
    [line] = version_changes(old, new)
    assert line.startswith("step anything_new: branch conditions '") and "> 2' → digest_email" in line


def test_a_goal_change_is_named() -> None:
    old = version("abandoned_cart")
    new = version("abandoned_cart", ("  within: 7d", "  within: 14d"))
    assert version_changes(old, new) == ["goal changed"]
