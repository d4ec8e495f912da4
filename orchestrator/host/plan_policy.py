"""`journey plan`'s policy part: what the deploy does to the customers waiting in a journey's running versions.

Two policies. The default: running enrollments finish on the version they started. `--migrate
JOURNEY` (the same option as `journey deploy`'s, with the same `--map OLD=NEW`): those waiting at a
step the new version keeps move onto it, the others stay. Who would move is worked out by the one
rule the deploy and the enrollments themselves follow (orchestrator/runtime/migration.py), step by
step, over the counts the plan shows (members of a broadcast cohort always stay: the deploy never asks
them); so the plan counts what the deploy will ask, as of the plan's
time (enrollments go on moving between steps until then).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from orchestrator import ir
from orchestrator.analytics.report_format import count
from orchestrator.host.migration import IN_COHORT
from orchestrator.runtime.migration import Moves, destination


@dataclass(frozen=True)
class MigrateOutcome:
    """What `--migrate` does to the enrollments of one running version waiting at one step."""

    step: str
    waiting: int
    moves_to: str | None
    """The step of the new version they move to (None: they stay on their version)."""
    stays: str | None
    """Why they stay, in words (None: they move)."""


def migrate_outcomes(
    old: ir.Journey,
    new: ir.Journey | None,
    waiting: Sequence[tuple[str, int]],
    mapping: Mapping[str, str],
    in_cohorts: Mapping[str, int] | None = None,
) -> tuple[MigrateOutcome, ...]:
    """For each (step, how many wait there) of `old`, what moving onto `new` does to them (nothing without a new version).
    `in_cohorts`: of those waiting at each step, how many run in a broadcast cohort: they stay, whatever the step."""
    if new is None or new.version == old.version:
        return ()
    outcomes = []
    for step, waiting_there in waiting:
        members = min((in_cohorts or {}).get(step, 0), waiting_there)
        if members:
            outcomes.append(MigrateOutcome(step, members, None, IN_COHORT))
        waiting_here = waiting_there - members
        if not waiting_here:
            continue
        where = destination(old, new, step, mapping)
        if isinstance(where, Moves):
            outcomes.append(MigrateOutcome(step, waiting_here, where.step, None))
        else:
            outcomes.append(MigrateOutcome(step, waiting_here, None, where.explain(new.version)))
    return tuple(outcomes)


def moving(outcomes: Sequence[MigrateOutcome]) -> int:
    return sum(outcome.waiting for outcome in outcomes if outcome.moves_to is not None)


def migrated_sentence(new_version: str | None, running: int, moves: int) -> str:
    """The outcome of a changed journey under `--migrate`, in a sentence."""
    stay = running - moves
    moved = f"{count(moves)} waiting enrollment{'s' if moves != 1 else ''} {_verb(moves, 'moves', 'move')} to it"
    kept = f"{count(stay)} {_verb(stay, 'finishes on the version it', 'finish on the version they')} started"
    return f"New entries get version {new_version}; with --migrate, {moved} and {kept}."


def policy_lines(
    outcomes: Sequence[MigrateOutcome],
    *,
    version: str,
    new_version: str | None,
    running: int,
    migrating: bool,
    journey: str,
    bullet: str,
    code: Callable[[str], str],
) -> list[str]:
    """The lines under one running version: under `--migrate` what happens at each step; otherwise, when some could
    move, the command that would move them."""
    moves = moving(outcomes)
    if not migrating:
        if not moves:
            return []
        hint = code(f"journey deploy --migrate {journey}")
        return [f"{bullet}{hint} would move {count(moves)} of them onto version {code(new_version or '')}, deadlines kept"]
    lines = []
    for outcome in outcomes:
        if outcome.moves_to is not None:
            move = _verb(outcome.waiting, "moves", "move")
            lines.append(f"{bullet}{count(outcome.waiting)} {move} to version {code(new_version or '')} at {code(outcome.moves_to)}")
        else:
            stay = _verb(outcome.waiting, "stays", "stay")
            lines.append(f"{bullet}{count(outcome.waiting)} {stay} on version {code(version)}: {outcome.stays}")
    between = running - sum(outcome.waiting for outcome in outcomes)
    if between > 0 and new_version is not None:
        stay = _verb(between, "stays", "stay")
        lines.append(f"{bullet}{count(between)} between steps {stay} on version {code(version)} (a rerun moves those that wait by then)")
    return lines


def _verb(number: int, singular: str, plural: str) -> str:
    return singular if number == 1 else plural
