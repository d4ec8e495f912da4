"""Reads of `events.<wait_for id>`, the events `wait_for` steps matched: checked against the steps, warned about
where the step may not have matched, and noted so the IR remembers only the matches something reads.

Rules (docs/language.md, "Rules"):

- `unknown-awaited-step` (error): `events.X` where no step is named X; a close id is suggested.
- `not-a-wait-for` (error): X is a step of another kind, which matches no event.
- `awaited-step-not-named` (error): `events` read without a written step id (`events[name]`, `{{ events }}`):
  the compiler could not tell which matches an enrollment must keep.
- `may-not-have-matched` (warning): a step reads `events.X` and can be reached from the start without X's
  match, that is without passing X's `next` (its timeout, or a path around X): the value is then missing
  (`none` in an expression, a failed send or webhook in a template). A `default` whose fallback is no awaited
  event (`| default(0)`) answers it; `events.X... | default(events.Y...)` warns only where neither matched.

The `where` of `goal` and `exit_on` may read `events` too; evaluated at whatever step the enrollment is at, they
may always find a match missing, which is no news to warn about. The trigger and `entry.audience` run before any
step, where the templating check refuses `events` (`no-awaited-events`).
"""

from __future__ import annotations

import difflib
from pathlib import Path

from orchestrator.compiler.diagnostics import Diagnostic, Severity
from orchestrator.compiler.flow import edges, onward_edges
from orchestrator.compiler.source import JourneySource, text
from orchestrator.compiler.steps import kind_of
from orchestrator.compiler.steps.wait_for import WAIT_FOR, timeout_target
from orchestrator.compiler.texts import JourneyText, journey_texts
from orchestrator.language.awaited_reads import AwaitedRead, awaited_reads


def check_awaited(source: JourneySource) -> None:
    """Report the rules above, and note in `source.remembered` the wait_for steps whose match is read."""
    kinds = {text(step.get("id")): kind_of(step) for _, step in source.steps()}
    ids = {index: text(step.get("id")) for index, step in source.steps()}
    waits = [step_id for step_id, kind in kinds.items() if step_id is not None and kind is WAIT_FOR]
    reachable: dict[frozenset[str], set[str]] = {}
    for found in journey_texts(source, top=("steps", "goal", "exit_on")):
        for read in _reads(source, found):
            if read.step is None:
                _report(source, found, read, "awaited-step-not-named", _NOT_NAMED)
            elif read.step not in kinds:
                message = f"`events.{read.step}`: no step named '{read.step}'{_hint(read.step, waits)}"
                _report(source, found, read, "unknown-awaited-step", message)
            elif kinds[read.step] is not WAIT_FOR:
                kind = kinds[read.step]
                what = f"a {kind.name} step" if kind is not None else "not a wait_for step"
                message = (
                    f"`events.{read.step}`: step '{read.step}' is {what}, which matches no event; "
                    "`events` holds what wait_for steps matched"
                )
                _report(source, found, read, "not-a-wait-for", message)
            else:
                source.remembered.add(read.step)
                reader = ids.get(found.step) if found.step is not None else None
                if reader is None or read.given_by is None:
                    continue
                if read.given_by not in reachable:
                    reachable[read.given_by] = _reachable_without(source, read.given_by)
                if reader in reachable[read.given_by]:
                    message = _missing(read, reader, expression=found.expression)
                    _report(source, found, read, "may-not-have-matched", message, severity=Severity.WARNING)


_NOT_NAMED = (
    "read `events.<wait_for step id>` (or `events['<id>']`): the enrollment keeps only the matches the journey "
    "names, so `events` cannot be read whole or by a computed key"
)


def _reads(source: JourneySource, found: JourneyText) -> tuple[AwaitedRead, ...]:
    """The reads in `found`, on the source's own lines (a folded `>` block joins lines before Jinja sees them)."""
    reads = awaited_reads(found.text, expression=found.expression)
    if reads and found.template_file is None:
        unfolded = source.folded_block_lines(found.at)
        if unfolded is not None:
            return awaited_reads(unfolded, expression=found.expression) or reads
    return reads


def _hint(step: str, waits: list[str]) -> str:
    close = difflib.get_close_matches(step, waits, n=1)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; the wait_for steps are {', '.join(waits)}" if waits else "; this journey has no wait_for step"


def _missing(read: AwaitedRead, reader: str, *, expression: bool) -> str:
    named = " or ".join(f"'{step}'" for step in sorted(read.given_by or ()))
    then = "it reads as none in this expression" if expression else "this template fails to render"
    return (
        f"`events.{read.step}` is missing when '{reader}' is reached without {named} matching (a timeout, or a path "
        f"around it), and {then}; say what then with `| default(...)`"
    )


def _report(
    source: JourneySource, found: JourneyText, read: AwaitedRead, rule: str, message: str, *, severity: Severity = Severity.ERROR
) -> None:
    if found.template_file is None:
        source.report(found.at, rule, message, inner_line=read.lineno, severity=severity)
        return
    # A read inside a template file is reported in that file, as its other problems are (template_files.py).
    template_file = str(Path(source.file).parent / found.template_file)
    source.diagnostics.append(Diagnostic(template_file, read.lineno, 1, severity, rule, message))


def _reachable_without(source: JourneySource, matched: frozenset[str]) -> set[str]:
    """The steps reachable from the first one when none of the wait_for steps `matched` ever matches.

    Each of them then goes on only by its timeout: `timeout_next`, or its `next` when it has `within` and no
    `timeout_next`; one without `within` waits forever.
    """
    steps = source.steps()
    if not steps:
        return set()
    bodies = {text(step.get("id")): step.get(WAIT_FOR.name) for _, step in steps}
    onward = onward_edges(source)
    successors: dict[str, list[str]] = {}
    for edge in edges(source):
        if edge.source in matched and onward.get(edge.source) == edge:
            timeout = timeout_target(bodies.get(edge.source), edge.target)
            if timeout is not None:
                successors.setdefault(edge.source, []).append(timeout)
            continue
        successors.setdefault(edge.source, []).append(edge.target)
    first = text(steps[0][1].get("id"))
    seen = {first} if first is not None else set()
    stack = list(seen)
    while stack:
        for target in successors.get(stack.pop(), ()):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return {step for step in seen if step is not None}
