"""What a step kind provides: `StepKind`, the same set of functions for every kind, and the `Edge` its flow is made of."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from orchestrator import ir
from orchestrator.compiler.drawing import Arrow, Node
from orchestrator.compiler.source import JourneySource, Path_

S = TypeVar("S", bound=ir.Step)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    path: Path_
    """Where the reference is written (the step's id for an implicit fall-through)."""


def no_check(source: JourneySource, at: Path_, body: Any) -> None:
    """For a kind whose body the schema checks entirely."""


def no_edges(step_id: str, at: Path_, body: Any) -> Iterator[Edge]:
    """For a kind whose only way on is its `next`, or none."""
    yield from ()


def no_events(step: Any) -> Iterable[str]:
    """For a kind that listens to no event."""
    return ()


@dataclass(frozen=True)
class StepKind(Generic[S]):
    """One step kind of the journey language, from the YAML key to the drawing.

    The functions share one signature per role across kinds. `at` is where the
    kind's body is written (`("steps", 3, "send")`) and `body` the value there,
    read leniently in `check` and `edges` (they run on documents the schema
    rejected) and trusted in `lower` (it runs only on documents without errors).
    """

    name: str
    """The key that marks the kind in a journey file (`send:`); the registry is keyed by it."""
    lowers_to: tuple[type[S], ...]
    """The IR classes this kind compiles to (a `wait` to one of three, by its form)."""
    goes_on: bool
    """Whether the step goes on to its `next`: written, or else the following step (or `end` after the last)."""
    lower: Callable[[JourneySource, str, Any, str], S]
    """(source, step id, body, the step it goes on to) -> the IR step."""
    draw: Callable[[S], Node]
    """The IR step's node in `journey graph`."""
    arrows: Callable[[S], Iterator[Arrow]]
    """The IR step's arrows in `journey graph`."""
    why_no_next: str = ""
    """For a kind that does not go on: why a `next` written on it would be ignored ("ends the enrollment")."""
    check: Callable[[JourneySource, Path_, Any], None] = no_check
    """(source, at, body): report what the schema cannot see (expressions, templates, values, combinations)."""
    edges: Callable[[str, Path_, Any], Iterator[Edge]] = no_edges
    """(step id, at, body): the transitions written in the body (branch cases, split paths, a timeout)."""
    listens: Callable[[S], Iterable[str]] = no_events
    """The events the IR step waits for; with the trigger, goal and exit_on they make `Journey.events`."""
    awaits_event: bool = False
    """`event` in the body means the event the step waits for, which every journey has, not the trigger's."""
    template_file_keys: frozenset[str] = frozenset()
    """Keys in the body whose value names a template file: checks read the file's content, not the path."""

    @property
    def rests(self) -> bool:
        """Every form of the kind blocks until a time or an event (`ir.StepFacts.rests`), so a loop through it waits."""
        return all(cls.rests for cls in self.lowers_to)
