"""The parts of a journey drawing: each step kind draws its node and arrows, `diagram` lays them out as Mermaid or DOT."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

_LABEL_LIMIT = 60


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    shape: str  # box | round | diamond | hexagon | stadium | note


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    label: str = ""
    dashed: bool = False


def short(text: str) -> str:
    """A label on one line, cut to a length that keeps the drawing readable."""
    text = " ".join(text.split())
    return text if len(text) <= _LABEL_LIMIT else text[: _LABEL_LIMIT - 1] + "…"


class _GoesOn(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def next(self) -> str: ...


def arrow_to_next(step: _GoesOn) -> Iterator[Arrow]:
    """The one plain arrow of a step that always goes on to its `next`."""
    yield Arrow(step.id, step.next)
