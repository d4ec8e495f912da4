"""Which step of a new journey version an enrollment waiting in an older one moves to, if it moves at all.

One rule, used by three: `journey plan` counts who would move and who would stay, `journey deploy
--migrate` picks whom to ask, and the enrollment decides for itself when the request reaches it
(docs/deploy.md, "Moving waiting customers"). They must never disagree, so none of them decides
on its own.

An enrollment moves only while it waits at a wait step (`wait`, `wait_until`, `wait_until_date`,
`wait_for`): at a send, a branch or an update it is in the middle of something the new version may
do differently, and moving there could lose or repeat a message. It moves to the step of the same id
in the new version, or to the one the operator's mapping names for it (`--map OLD=NEW`, which also
overrides a step that still exists), when that step is a wait step of the same kind: the deadline it
keeps (timers kept) means the same thing only for the same kind of wait. Otherwise it stays on the
version it started, which the default policy does for everyone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import orchestrator.ir as ir

WAIT_KINDS = ("wait", "wait_until", "wait_until_date", "wait_for")
"""The kinds of the steps an enrollment can move at: it is blocked there, between one action and the next."""

StayReason = Literal["removed", "not_a_wait", "other_kind", "mapped_to_missing"]


@dataclass(frozen=True)
class Moves:
    """The enrollment moves onto the new version, waiting at `step` there until the deadline it had."""

    step: str


@dataclass(frozen=True)
class Stays:
    """The enrollment stays on the version it started, and why (`explain` says it in words)."""

    reason: StayReason
    step: str
    """The step it waits at in its version."""
    target: str
    """The step of the new version it would have gone to (the same id, or the mapping's)."""
    kind: str | None = None
    """With `other_kind`: the kind of `step`; and `target_kind`, what `target` is in the new version."""
    target_kind: str | None = None

    def explain(self, new_version: str) -> str:
        """Why, in a clause: "last_call is not in version 3f2a..."."""
        match self.reason:
            case "removed":
                return f"{self.step} is not in version {new_version}"
            case "mapped_to_missing":
                return f"{self.step} is mapped to {self.target}, which is not in version {new_version}"
            case "not_a_wait":
                return f"{self.step} is not a wait step"
            case "other_kind":
                return f"{self.target} is a {self.target_kind} step in version {new_version}, not a {self.kind} step"


Destination = Moves | Stays


def destination(old: ir.Journey, new: ir.Journey, step: str, mapping: Mapping[str, str] | None = None) -> Destination:
    """Where an enrollment of `old` waiting at `step` goes when asked to move to `new`."""
    target = (mapping or {}).get(step, step)
    here = _step(old, step)
    if here is None or here.kind not in WAIT_KINDS:
        return Stays("not_a_wait", step, target)
    there = _step(new, target)
    if there is None:
        return Stays("removed" if target == step else "mapped_to_missing", step, target)
    if there.kind != here.kind:
        return Stays("other_kind", step, target, here.kind, there.kind)
    return Moves(target)


def parse_mapping(pairs: Iterable[str]) -> dict[str, str]:
    """`--map OLD=NEW` options as a mapping; ValueError names the first that is not of that form, or repeats an OLD."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        old, equals, new = (part.strip() for part in pair.partition("="))
        if not equals or not old or not new:
            raise ValueError(f"--map {pair!r}: write OLD_STEP=NEW_STEP, the step ids of the old and the new version")
        if old in mapping:
            raise ValueError(f"--map {old}=... is given twice")
        mapping[old] = new
    return mapping


def mapping_problems(olds: Sequence[ir.Journey], new: ir.Journey, mapping: Mapping[str, str]) -> list[str]:
    """What is wrong with `mapping` for moving enrollments of `olds` onto `new`, in words (empty: nothing).

    Each OLD must be a wait step of some older version, each NEW a wait step of the new version of the same kind:
    a typo would otherwise leave customers behind without a word.
    """
    problems = []
    for old_step, new_step in mapping.items():
        kinds = {step.kind for journey in olds for step in journey.steps if step.id == old_step}
        there = _step(new, new_step)
        if not olds:
            problems.append(f"--map {old_step}={new_step}: {new.id} has no older version deployed, so nobody to move")
        elif not kinds:
            versions = ", ".join(journey.version for journey in olds)
            problems.append(f"--map {old_step}={new_step}: no older version has a step {old_step} (versions: {versions})")
        elif not kinds & set(WAIT_KINDS):
            problems.append(f"--map {old_step}={new_step}: {old_step} is not a wait step, and only waiting enrollments move")
        elif there is None:
            problems.append(f"--map {old_step}={new_step}: version {new.version} has no step {new_step}")
        elif there.kind not in kinds:
            problems.append(f"--map {old_step}={new_step}: {new_step} is a {there.kind} step, {old_step} a {'/'.join(sorted(kinds))} step")
    return problems


def _step(journey: ir.Journey, step_id: str) -> ir.Step | None:
    try:
        return journey.step(step_id)
    except KeyError:
        return None
