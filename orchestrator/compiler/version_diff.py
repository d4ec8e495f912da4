"""What changed between two compiled versions of a journey, in the words of a version history.

The project had no diff of journeys before this one (`journey deploy` and the
folder watcher say only "deployed" or "unchanged", by content version), so this
is the one definition. It compares IR values, not YAML text: a change of
formatting or comments makes no new version and no line here.

Lines read like "step reminder: subject 'Hi' → 'Hello'", "step sms_nudge added",
"goal changed". Values are shown short (compiler.drawing.short), durations as the
journey file writes them.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from orchestrator import ir
from orchestrator.compiler.drawing import short
from orchestrator.language.timeparse import format_duration

_FIELD_WORDS = {
    # IR field -> what a marketer calls it; fields not listed are named by their field name in words.
    "seconds": "wait duration",
    "within_seconds": "time limit",
    "timeout_next": "step after the time limit",
    "offset_seconds": "offset",
    "cases": "branch conditions",
    "else_next": "else step",
    "paths": "split weights",
    "holdout_weight": "holdout share",
    "next": "next step",
    "until": "time of day",
    "until_date": "date",
    "template_path": "template",
    "variants": "translations",
    "set": "traits set",
    "compute": "traits computed",
    "unset": "traits removed",
    "timeout_seconds": "timeout",
}
_DURATIONS = {"seconds", "within_seconds", "offset_seconds", "timeout_seconds"}
_STEP_REFERENCES = {"next", "else_next", "timeout_next"}
_JOURNEY_PARTS = ("name", "description", "trigger", "entry", "goal", "exit_on", "metrics", "settings", "tags")


def version_changes(old: ir.Journey, new: ir.Journey) -> list[str]:
    """Every change from `old` to `new`, journey-wide parts first, then steps in the new version's order
    (removed steps last); empty when the two run the same journey."""
    lines = [f"{part.replace('_', ' ')} changed" for part in _JOURNEY_PARTS if getattr(old, part) != getattr(new, part)]
    if old.start != new.start:
        lines.append(f"first step: {old.start} → {new.start}")
    before = {step.id: step for step in old.steps}
    after_ids = {step.id for step in new.steps}
    for step in new.steps:
        was = before.get(step.id)
        if was is None:
            lines.append(f"step {step.id} added ({step.kind.replace('_', ' ')})")
        elif type(was) is not type(step):
            lines.append(f"step {step.id} is now a {step.kind.replace('_', ' ')} step (was {was.kind.replace('_', ' ')})")
        else:
            lines.extend(f"step {step.id}: {change}" for change in _step_changes(was, step))
    lines.extend(f"step {step.id} removed" for step in old.steps if step.id not in after_ids)
    return lines


def _step_changes(old: ir.Step, new: ir.Step) -> list[str]:
    out = []
    for f in fields(new):
        a, b = getattr(old, f.name), getattr(new, f.name)
        if a == b:
            continue
        what = _FIELD_WORDS.get(f.name, f.name.replace("_", " "))
        if f.name == "paths":
            out.append(f"{what} {_weights(a)} → {_weights(b)}")
        elif f.name == "cases":
            out.append(f"{what} {_conditions(a)} → {_conditions(b)}")
        elif _plain(a) and _plain(b):
            out.append(f"{what} {_value(f.name, a)} → {_value(f.name, b)}")
        else:
            out.append(f"{what} changed")
    return out


def _plain(value: Any) -> bool:
    return value is None or (isinstance(value, str | int | float) and not is_dataclass(value))


def _value(name: str, value: Any) -> str:
    if value is None:
        return "none"
    if name in _STEP_REFERENCES:
        return str(value)
    if name in _DURATIONS and isinstance(value, int):
        return format_duration(value)
    if isinstance(value, str):
        return f"'{short(value)}'"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _weights(paths: tuple[ir.SplitPath, ...]) -> str:
    return ", ".join(f"{p.name} {p.weight:g}" for p in paths)


def _conditions(cases: tuple[ir.BranchCase, ...]) -> str:
    return "; ".join(f"'{short(c.when)}' → {c.next}" for c in cases)
