"""What counts as an answer to a metric, and its bucket: the scales of docs/language.md, `metrics`."""

from __future__ import annotations

import pytest

from orchestrator import ir
from orchestrator.analytics.answers import Answer, answer


@pytest.mark.parametrize(
    ("score", "bucket"),
    [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"), (9, "promoter"), (10, "promoter"), (9.0, "promoter")],
)
def test_nps_buckets_promoters_passives_and_detractors(score: float, bucket: str) -> None:
    assert answer("nps", score) == Answer(float(score), bucket)


@pytest.mark.parametrize(("score", "bucket"), [(1, "unsatisfied"), (3, "unsatisfied"), (4, "satisfied"), (5, "satisfied")])
def test_csat_counts_4_and_5_as_satisfied(score: float, bucket: str) -> None:
    assert answer("csat", score) == Answer(score, bucket)


@pytest.mark.parametrize(
    ("kind", "score"),
    [
        ("nps", -1),
        ("nps", 11),
        ("nps", 8.5),
        ("csat", 0),
        ("csat", 6),
        ("csat", 4.2),
        ("ces", 0),
        ("ces", 8),
        ("ces", 2.5),
        ("nps", None),
        ("mean", None),
    ],
)
def test_a_score_off_its_scale_between_whole_numbers_or_none_is_no_answer(kind: ir.MetricKind, score: float | None) -> None:
    assert answer(kind, score) is None


@pytest.mark.parametrize(("kind", "value"), [("ces", 1), ("ces", 7), ("mean", -2.5), ("sum", 1e9), ("mean", 0)])
def test_ces_has_no_bucket_and_mean_and_sum_take_any_finite_number(kind: ir.MetricKind, value: float) -> None:
    assert answer(kind, value) == Answer(value, None)


def test_every_kind_the_compiler_accepts_has_a_rule() -> None:
    assert all(answer(kind, 5) is not None for kind in ir.METRIC_KINDS)
    with pytest.raises(ValueError, match="not a metric kind"):
        answer("median", 5)  # type: ignore[arg-type]
