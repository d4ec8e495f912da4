"""What counts as an answer to a metric, and which bucket it falls in (docs/language.md, `metrics`).

Scores are whole numbers on their kind's scale: nps 0-10, csat 1-5, ces 1-7. A score off the scale
or between two whole numbers (9.5) is no answer: a survey tool that sends one is broken or set up for
another scale, and counting it would bend the score. 9.0 is 9. `mean` and `sum` take any finite
number. The buckets are the ones the scores are reported by: NPS = % promoters - % detractors,
CSAT = % satisfied; CES is a mean and has none.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator import ir

PROMOTER = "promoter"
"""nps 9-10"""
PASSIVE = "passive"
"""nps 7-8"""
DETRACTOR = "detractor"
"""nps 0-6"""
SATISFIED = "satisfied"
"""csat 4-5"""
UNSATISFIED = "unsatisfied"
"""csat 1-3"""


@dataclass(frozen=True)
class Scale:
    """A score's range, and its buckets as (name, lowest score in it), highest bucket first."""

    lowest: int
    highest: int
    buckets: tuple[tuple[str, int], ...] = ()

    def bucket(self, score: int) -> str | None:
        return next((name for name, lowest in self.buckets if score >= lowest), None)


SCALES: dict[str, Scale] = {
    "nps": Scale(0, 10, ((PROMOTER, 9), (PASSIVE, 7), (DETRACTOR, 0))),
    "csat": Scale(1, 5, ((SATISFIED, 4), (UNSATISFIED, 1))),
    "ces": Scale(1, 7),
}
"""The kinds scored on a fixed scale; `mean` and `sum` have none."""


@dataclass(frozen=True)
class Answer:
    value: float
    bucket: str | None
    """promoter, passive or detractor (nps); satisfied or unsatisfied (csat); None for other kinds."""


def answer(kind: ir.MetricKind, value: float | None) -> Answer | None:
    """The answer `value` makes to a metric of `kind`, or None when it is no answer (see the module).

    `value` is what the metric's expression gave (orchestrator/language/measured_values.py): None when that
    was no number.
    """
    if value is None:
        return None
    value = float(value)
    scale = SCALES.get(kind)
    if scale is None:
        if kind not in ir.METRIC_KINDS:
            raise ValueError(f"{kind!r} is not a metric kind; the compiler accepts {', '.join(ir.METRIC_KINDS)}")
        return Answer(value, None)
    if not value.is_integer() or not scale.lowest <= value <= scale.highest:
        return None
    return Answer(value, scale.bucket(int(value)))
