"""The A/B statistics against published values, closed forms and hand-worked examples.

References: Newcombe (1998a), Statistics in Medicine 17:857-872 (Wilson interval, method 3);
Newcombe (1998b), Statistics in Medicine 17:873-890 (difference, method 10); Evan Miller,
"Formulas for Bayesian A/B testing" (closed form of P(p_B > p_A) with Beta posteriors); Student (1908),
Biometrika 6:1-25 (the sleep data, t interval of a mean); Rocks (2016), The American Statistician
70(4):365-372 (the NPS's multinomial variance).
"""

from __future__ import annotations

import math

import pytest
from scipy.special import betaln
from scipy.stats import chi2_contingency
from scipy.stats.contingency import relative_risk

from orchestrator.analytics.ab_test import MIN_CONVERSIONS_PER_SPLIT, MIN_MATURED_PER_ARM, ArmCounts, compare_split
from orchestrator.analytics.statistics import (
    Interval,
    chance_to_beat_control,
    holm_adjusted,
    mean_interval,
    net_promoter_interval,
    net_promoter_score,
    newcombe_difference_interval,
    relative_lift,
    relative_lift_interval,
    two_proportion_p_value,
    wilson_interval,
)


def rounded(interval: Interval) -> tuple[float, float]:
    return round(interval.low, 4), round(interval.high, 4)


@pytest.mark.parametrize(
    ("x", "n", "expected"),
    [
        (81, 263, (0.2553, 0.3662)),  # Newcombe 1998a, worked example
        (15, 148, (0.0624, 0.1605)),  # Newcombe 1998a, worked example
        (0, 20, (0.0, 0.1611)),  # Newcombe 1998a, worked example
        (1, 29, (0.0061, 0.1718)),  # Newcombe 1998a, worked example
    ],
)
def test_wilson_interval_matches_newcombe(x: int, n: int, expected: tuple[float, float]) -> None:
    assert rounded(wilson_interval(x, n)) == expected


def test_wilson_interval_at_the_edges_stays_inside_zero_one() -> None:
    assert wilson_interval(0, 0) == Interval(0.0, 1.0)  # nothing enrolled: nothing known
    all_converted = wilson_interval(29, 29)
    assert all_converted.high == 1.0
    assert rounded(all_converted) == (0.8830, 1.0)  # the mirror of 0/29
    # The formula lands a hair outside [0, 1] at the edges (1.0000000000000002 for 11/11): a rate never does.
    assert all(wilson_interval(0, n).low == 0.0 and wilson_interval(n, n).high == 1.0 for n in range(1, 200))


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((56, 70, 48, 80), (0.0524, 0.3339)),  # Newcombe 1998b, method 10
        ((9, 10, 3, 10), (0.1705, 0.8090)),  # Newcombe 1998b, method 10
    ],
)
def test_difference_interval_matches_newcombe_method_10(counts: tuple[int, int, int, int], expected: tuple[float, float]) -> None:
    assert rounded(newcombe_difference_interval(*counts)) == expected


def test_difference_interval_with_no_conversions_anywhere_spans_the_two_wilson_upper_bounds() -> None:
    # Both rates 0: method 10 reduces to [-u_control, u_treated].
    interval = newcombe_difference_interval(0, 10, 0, 20)
    assert interval.low == pytest.approx(-wilson_interval(0, 20).high)
    assert interval.high == pytest.approx(wilson_interval(0, 10).high)


def test_difference_interval_with_an_empty_arm_is_wide_not_an_error() -> None:
    interval = newcombe_difference_interval(0, 0, 50, 100)
    assert -1.0 <= interval.low < -0.5 and 0.4 < interval.high <= 1.0


def test_lift_interval_is_the_katz_log_interval_of_the_ratio_minus_one() -> None:
    # scipy.stats.contingency.relative_risk implements Katz's log interval: the lift is that ratio minus one.
    reference = relative_risk(56, 70, 48, 80).confidence_interval(0.95)
    interval = relative_lift_interval(56, 70, 48, 80)
    assert interval is not None
    assert interval.low == pytest.approx(reference.low - 1, abs=1e-12)
    assert interval.high == pytest.approx(reference.high - 1, abs=1e-12)
    assert relative_lift(56, 70, 48, 80) == pytest.approx((0.8 - 0.6) / 0.6)


def test_lift_is_undefined_over_a_control_without_conversions_and_finite_when_the_arm_has_none() -> None:
    assert relative_lift(5, 100, 0, 100) is None
    assert relative_lift_interval(5, 100, 0, 100) is None
    assert relative_lift(0, 100, 5, 100) == -1.0
    interval = relative_lift_interval(0, 100, 5, 100)  # half a conversion added to every count
    assert interval is not None and -1.0 < interval.low < interval.high < math.inf
    assert relative_lift_interval(10, 10, 10, 10) == Interval(0.0, 0.0)  # 100 % in both: no uncertainty left
    assert relative_lift(0, 0, 5, 100) is None


def test_p_value_is_the_pearson_chi_square_of_the_two_by_two_table() -> None:
    # The pooled z-test squared is Pearson's chi-square without continuity correction.
    reference = chi2_contingency([[56, 14], [48, 32]], correction=False).pvalue
    assert two_proportion_p_value(56, 70, 48, 80) == pytest.approx(reference, rel=1e-9)


def test_p_value_without_information_is_one() -> None:
    assert two_proportion_p_value(0, 100, 0, 100) == 1.0
    assert two_proportion_p_value(100, 100, 50, 50) == 1.0
    assert two_proportion_p_value(0, 0, 5, 100) == 1.0


def test_holm_adjustment_matches_a_hand_worked_example() -> None:
    # Sorted 0.01, 0.03, 0.04 -> 3 x 0.01 = 0.03, 2 x 0.03 = 0.06, max(0.06, 1 x 0.04) = 0.06; back in the order given.
    assert holm_adjusted([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm_adjusted([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm_adjusted([0.02]) == [0.02]  # one comparison: unchanged


def evan_miller_chance_to_beat(x_b: int, n_b: int, x_a: int, n_a: int) -> float:
    """P(p_B > p_A) in closed form (Evan Miller): a sum over the integer alpha_B, here in log space."""
    alpha_a, beta_a, alpha_b, beta_b = 1 + x_a, 1 + n_a - x_a, 1 + x_b, 1 + n_b - x_b
    return sum(
        math.exp(betaln(alpha_a + i, beta_a + beta_b) - math.log(beta_b + i) - betaln(1 + i, beta_b) - betaln(alpha_a, beta_a))
        for i in range(alpha_b)
    )


@pytest.mark.parametrize(
    "counts",
    [
        (10, 100, 5, 100),
        (1000, 10000, 1050, 10000),
        (212, 5000, 180, 5000),
        (3, 7, 2, 9),
        (0, 0, 0, 0),  # nothing enrolled: a coin toss
        (0, 50, 3, 50),
        (40, 40, 38, 40),  # 100 % conversion
        (30000, 300000, 29500, 300000),  # narrow posteriors
        (5, 1_000_000, 3, 1_000_000),  # a narrow spike near 0, which a quadrature over [0, 1] misses
        (10, 100, 100_000, 1_000_000),  # a wide arm against a narrow control
    ],
)
def test_chance_to_beat_control_matches_the_closed_form(counts: tuple[int, int, int, int]) -> None:
    assert chance_to_beat_control(*counts) == pytest.approx(evan_miller_chance_to_beat(*counts), abs=1e-6)


def test_counts_that_cannot_be_are_refused() -> None:
    with pytest.raises(ValueError, match="0 <= conversions <= enrollments"):
        wilson_interval(5, 3)


def arms(control: tuple[int, int], *others: tuple[str, int, int]) -> tuple[ArmCounts, list[ArmCounts]]:
    return ArmCounts("a", *control), [ArmCounts(name, matured, converted) for name, matured, converted in others]


def test_verdict_names_the_winner_with_its_difference_and_interval() -> None:
    control, treated = arms((5000, 500), ("b", 5000, 605))
    result = compare_split(control, treated)
    comparison = result.arms[0]
    assert rounded(comparison.difference_ci) == (0.0087, 0.0333)
    assert result.verdict == "b converts better than a: +2.1 points, 95% CI +0.9 to +3.3"
    assert comparison.p_value < 0.05 and comparison.chance_to_beat_control > 0.99
    assert comparison.lift == pytest.approx(0.21)


def test_verdict_names_a_loser_too() -> None:
    control, treated = arms((5000, 605), ("b", 5000, 500))
    assert compare_split(control, treated).verdict == "b converts worse than a: -2.1 points, 95% CI -3.3 to -0.9"


def test_verdict_without_a_significant_difference() -> None:
    control, treated = arms((1000, 100), ("b", 1000, 110))
    assert compare_split(control, treated).verdict == "no significant difference yet"


def test_verdict_names_no_winner_while_the_interval_beside_it_still_holds_zero() -> None:
    # p = 0.0498, just under 0.05, but Newcombe's interval starts just below zero: "better, 95% CI -0.0 to +4.6" would contradict itself.
    control, treated = arms((700, 27), ("b", 700, 43))
    comparison = compare_split(control, treated).arms[0]
    assert comparison.p_value < 0.05 and comparison.difference_ci.low < 0
    assert compare_split(control, treated).verdict == "no significant difference yet"


def test_verdict_refuses_to_call_a_winner_before_every_arm_has_matured() -> None:
    # A large gap, but arm b has only 212 matured enrollments.
    control, treated = arms((5000, 500), ("b", 212, 60))
    assert compare_split(control, treated).verdict == f"too few matured enrollments: 212 of the {MIN_MATURED_PER_ARM} per arm needed"


def test_verdict_refuses_to_call_a_winner_on_a_handful_of_conversions() -> None:
    control, treated = arms((600, 0), ("b", 600, 9))
    assert compare_split(control, treated).verdict == f"too few conversions: 9 of the {MIN_CONVERSIONS_PER_SPLIT} needed"


def test_holm_keeps_a_marginal_arm_from_being_named_when_three_arms_are_compared() -> None:
    # Alone, b against a is significant (p about 0.03); compared alongside c and d, Holm lifts it above 0.05.
    control, treated = arms((2000, 200), ("b", 2000, 243), ("c", 2000, 205), ("d", 2000, 198))
    alone = compare_split(control, treated[:1])
    together = compare_split(control, treated)
    assert alone.verdict.startswith("b converts better than a")
    assert together.arms[0].p_value == pytest.approx(3 * alone.arms[0].p_value)
    assert together.verdict == "no significant difference yet"


def test_edge_counts_give_numbers_not_errors() -> None:
    nothing = compare_split(*arms((0, 0), ("b", 0, 0)))
    assert nothing.control.rate is None and nothing.arms[0].difference is None and nothing.arms[0].lift is None
    assert nothing.verdict == f"too few matured enrollments: 0 of the {MIN_MATURED_PER_ARM} per arm needed"
    all_converted = compare_split(*arms((600, 600), ("b", 600, 600)))
    assert all_converted.arms[0].difference == 0.0 and all_converted.arms[0].p_value == 1.0
    assert all_converted.arms[0].chance_to_beat_control == pytest.approx(0.5)
    assert all_converted.verdict == "no significant difference yet"
    none_converted = compare_split(*arms((600, 0), ("b", 600, 0)))
    assert none_converted.arms[0].lift is None
    assert none_converted.verdict == f"too few conversions: 0 of the {MIN_CONVERSIONS_PER_SPLIT} needed"


def test_mean_interval_matches_students_sleep_data() -> None:
    # Student (1908), the Cushny-Peebles sleep data: extra hours of sleep, drug 2 over drug 1, ten patients.
    # R's `t.test(extra ~ group, data = sleep, paired = TRUE)` reports the 95 % interval 0.7001142 to 2.4598858.
    differences = [1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4]
    interval = mean_interval(len(differences), sum(differences), sum(value * value for value in differences))
    assert interval is not None
    assert (round(interval.low, 7), round(interval.high, 7)) == (0.7001142, 2.4598858)


def test_mean_interval_needs_two_values_and_has_no_width_when_they_are_equal() -> None:
    assert mean_interval(0, 0.0, 0.0) is None
    assert mean_interval(1, 5.0, 25.0) is None
    # 0.1 three times: the sums round so the squared deviations come out a hair below zero.
    assert mean_interval(3, 0.1 + 0.1 + 0.1, 0.01 + 0.01 + 0.01) == Interval(pytest.approx(0.1), pytest.approx(0.1))


def test_net_promoter_score_and_its_interval_by_hand() -> None:
    # 50 promoters, 30 passives, 20 detractors: NPS 30; variance (0.5 + 0.2 - 0.3^2) / 100 = 0.0061.
    assert net_promoter_score(50, 20, 100) == 30.0
    interval = net_promoter_interval(50, 20, 100)
    assert interval is not None
    half_width = 100 * 1.959964 * math.sqrt(0.0061)
    assert interval.low == pytest.approx(30 - half_width, abs=1e-4) and interval.high == pytest.approx(30 + half_width, abs=1e-4)
    assert rounded(interval) == (14.6922, 45.3078)


def test_net_promoter_variance_is_that_of_the_mean_of_plus_one_zero_minus_one_scores() -> None:
    # Scoring a promoter +1, a passive 0 and a detractor -1, the NPS is the mean score / 100 and the multinomial
    # variance is the population variance of the scores over n: the interval is that mean's normal interval.
    scores = [1] * 37 + [0] * 41 + [-1] * 22
    n = len(scores)
    mean = sum(scores) / n
    spread = math.sqrt(sum((s - mean) ** 2 for s in scores) / n / n)
    interval = net_promoter_interval(37, 22, n)
    assert interval is not None
    assert interval.low == pytest.approx(100 * (mean - 1.959963984540054 * spread))
    assert interval.high == pytest.approx(100 * (mean + 1.959963984540054 * spread))


def test_net_promoter_score_at_the_edges() -> None:
    assert net_promoter_score(0, 0, 0) is None and net_promoter_interval(0, 0, 0) is None
    assert net_promoter_interval(10, 0, 10) == Interval(100.0, 100.0)  # all promoters: no spread, and never above 100
    interval = net_promoter_interval(1, 0, 2)
    assert interval is not None and interval.high == 100.0
    with pytest.raises(ValueError, match="at most the responses"):
        net_promoter_interval(6, 6, 10)
