"""Every expression and template a journey's steps and entry rules hold, with where it is written: the rules that
look at what texts read (`event` in a journey without a trigger event, `events.<wait_for id>`) walk them here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from orchestrator.compiler.source import JourneySource, Path_
from orchestrator.compiler.steps import STEP_KINDS
from orchestrator.personalization.locales import variant_tag

_EXPRESSION_KEYS = frozenset({"where", "when", "audience", "until_date", "segment"})


@dataclass(frozen=True)
class JourneyText:
    """One expression or template."""

    at: Path_
    """Where it is written; for a template file, the step's `template` key."""
    text: str
    expression: bool
    """An expression (a `where`, a `when`, a `compute`...), else a template."""
    template_file: str | None = None
    """The template file (or locale variant) it was read from, as the journey names it; None: written inline."""

    @property
    def step(self) -> int | None:
        """The index of the step it belongs to; None in the trigger, entry, goal and exit_on."""
        return self.at[1] if len(self.at) > 1 and self.at[0] == "steps" and isinstance(self.at[1], int) else None

    @property
    def awaited_event(self) -> bool:
        """Whether `event` in it is the event its `wait_for` step is matching, not the trigger."""
        kind = STEP_KINDS.get(str(self.at[2])) if len(self.at) > 3 else None
        return kind is not None and kind.awaits_event


def journey_texts(source: JourneySource, *, top: tuple[str, ...]) -> Iterator[JourneyText]:
    """The texts under the top-level keys `top` (`steps`, `entry`, `goal`...), template files (and their variants) read."""
    for at, value in _all_strings(source.document, ()):
        if not at or at[0] not in top:
            continue
        kind = STEP_KINDS.get(str(at[2])) if len(at) > 3 else None  # the kind whose body `at` is in
        if kind is not None and at[-1] in kind.template_file_keys:
            for path, content in source.templates.items():
                if path == value or variant_tag(value, path):
                    yield JourneyText(at, content, expression=False, template_file=path)
        else:
            yield JourneyText(at, value, expression=at[-1] in _EXPRESSION_KEYS or "compute" in at)


def _all_strings(value: Any, at: Path_) -> list[tuple[Path_, str]]:
    if isinstance(value, str):
        return [(at, value)]
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in _all_strings(v, (*at, k))]
    if isinstance(value, list):
        return [found for n, v in enumerate(value) for found in _all_strings(v, (*at, n))]
    return []
