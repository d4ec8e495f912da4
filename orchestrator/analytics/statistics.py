"""The formulas behind an A/B test or a holdout: pure functions of conversion counts.

Every function takes counts (conversions `x` out of matured enrollments `n`) and returns
plain numbers or a frozen `Interval`; none raises on zero enrollments, zero conversions or
100 % conversion. "Treated" is the arm being judged, "control" the arm it is judged against.

- `wilson_interval`: Wilson's score interval for one proportion (Newcombe 1998a, method 3).
- `newcombe_difference_interval`: Newcombe's hybrid score interval for p_treated - p_control
  (Newcombe 1998b, method 10), built from the two Wilson intervals.
- `relative_lift` / `relative_lift_interval`: (p_treated - p_control) / p_control and its
  interval by the log of the ratio of proportions (Katz et al. 1978), minus one.
- `two_proportion_p_value`: the two-sided p-value of the pooled two-proportion z-test.
- `holm_adjusted`: Holm's (1979) step-down adjustment of several p-values.
- `chance_to_beat_control`: P(p_treated > p_control) under independent Beta(1 + x, 1 + n - x)
  posteriors (uniform priors), integrated numerically so it is exact and reproducible.
- `mean_interval`: Student's t interval of a mean (revenue per enrollment, CES, a mean metric),
  from the count, sum and sum of squares the store keeps.
- `net_promoter_interval`: the Wald interval of NPS = %promoters - %detractors with the multinomial
  variance of a difference of two proportions of one sample (Rocks 2016).

References: Newcombe R.G. (1998a) Two-sided confidence intervals for the single proportion,
Statistics in Medicine 17:857-872; Newcombe R.G. (1998b) Interval estimation for the difference
between independent proportions, Statistics in Medicine 17:873-890; Katz D. et al. (1978)
Obtaining confidence intervals for the risk ratio in cohort studies, Biometrics 34:469-474;
Holm S. (1979) A simple sequentially rejective multiple test procedure, Scand. J. Statist. 6:65-70;
Rocks B. (2016) Interval estimation for the "net promoter score", The American Statistician 70(4):365-372.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import integrate
from scipy.stats import beta, norm, t

CONFIDENCE = 0.95
"""The level of every interval reported, and 1 - CONFIDENCE the significance level of every test."""

Z_95 = float(norm.ppf(1 - (1 - CONFIDENCE) / 2))
"""The standard normal quantile of a two-sided 95 % interval (1.959964...)."""

ZERO_CELL_CORRECTION = 0.5
"""Added to every count of the lift interval when an arm has no conversions (Haldane-Anscombe):
the log of a ratio with a zero has no finite bound, and half a conversion is the usual remedy."""


@dataclass(frozen=True)
class Interval:
    """A two-sided 95 % confidence interval, in the unit of its estimate (a proportion, a difference, a lift)."""

    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def rate(x: int, n: int) -> float | None:
    """x / n, or None when there is no enrollment to divide by."""
    return x / n if n > 0 else None


def wilson_interval(x: int, n: int, z: float = Z_95) -> Interval:
    """Wilson's score interval for x conversions out of n.

    With n = 0 nothing is known and the interval is the whole of [0, 1]. At x = 0 or x = n the
    interval reaches 0 or 1 exactly (the formula gives it up to rounding, which is pinned here).
    """
    _check_counts(x, n)
    if n == 0:
        return Interval(0.0, 1.0)
    p = x / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    denominator = 1 + z2 / n
    low = 0.0 if x == 0 else (centre - spread) / denominator
    high = 1.0 if x == n else (centre + spread) / denominator
    return Interval(low, high)


def newcombe_difference_interval(x_treated: int, n_treated: int, x_control: int, n_control: int, z: float = Z_95) -> Interval:
    """Newcombe's hybrid score interval (method 10) for p_treated - p_control.

    Each bound moves away from the observed difference by the Wilson distances of the two arms
    on the side that bound depends on:
    low = d - sqrt((p_t - l_t)^2 + (u_c - p_c)^2), high = d + sqrt((u_t - p_t)^2 + (p_c - l_c)^2).
    An arm with no enrollment counts as rate 0 with Wilson interval [0, 1], so the difference's
    interval widens to what the other arm alone allows instead of failing.
    """
    treated = wilson_interval(x_treated, n_treated, z)
    control = wilson_interval(x_control, n_control, z)
    p_t = rate(x_treated, n_treated) or 0.0
    p_c = rate(x_control, n_control) or 0.0
    difference = p_t - p_c
    low = difference - math.sqrt((p_t - treated.low) ** 2 + (control.high - p_c) ** 2)
    high = difference + math.sqrt((treated.high - p_t) ** 2 + (p_c - control.low) ** 2)
    return Interval(max(low, -1.0), min(high, 1.0))


def relative_lift(x_treated: int, n_treated: int, x_control: int, n_control: int) -> float | None:
    """(p_treated - p_control) / p_control; None when the control has no conversion (a lift over nothing is undefined)."""
    p_t = rate(x_treated, n_treated)
    p_c = rate(x_control, n_control)
    if p_t is None or not p_c:
        return None
    return (p_t - p_c) / p_c


def relative_lift_interval(x_treated: int, n_treated: int, x_control: int, n_control: int, z: float = Z_95) -> Interval | None:
    """The 95 % interval of the relative lift: Katz's log interval of the ratio p_treated / p_control, minus one.

    ln(RR) +- z * sqrt(1/x_t - 1/n_t + 1/x_c - 1/n_c). When either arm has no conversion, every count
    gets `ZERO_CELL_CORRECTION` so the interval stays finite. None when an arm has no enrollment or
    the control has no conversion, as for `relative_lift`.
    """
    _check_counts(x_treated, n_treated)
    _check_counts(x_control, n_control)
    if n_treated == 0 or n_control == 0 or x_control == 0:
        return None
    x_t, n_t, x_c, n_c = float(x_treated), float(n_treated), float(x_control), float(n_control)
    if x_treated == 0:
        x_t, n_t, x_c, n_c = (value + ZERO_CELL_CORRECTION for value in (x_t, n_t, x_c, n_c))
    log_ratio = math.log((x_t / n_t) / (x_c / n_c))
    standard_error = math.sqrt(1 / x_t - 1 / n_t + 1 / x_c - 1 / n_c)
    return Interval(math.exp(log_ratio - z * standard_error) - 1, math.exp(log_ratio + z * standard_error) - 1)


def two_proportion_p_value(x_treated: int, n_treated: int, x_control: int, n_control: int) -> float:
    """The two-sided p-value of the pooled two-proportion z-test of p_treated = p_control.

    z = (p_t - p_c) / sqrt(p (1 - p) (1/n_t + 1/n_c)) with p the pooled rate. When the test has
    nothing to go on (an arm without enrollments, or a pooled rate of 0 or 1, where both arms
    agree exactly) the p-value is 1: no evidence of a difference.
    """
    _check_counts(x_treated, n_treated)
    _check_counts(x_control, n_control)
    if n_treated == 0 or n_control == 0:
        return 1.0
    pooled = (x_treated + x_control) / (n_treated + n_control)
    variance = pooled * (1 - pooled) * (1 / n_treated + 1 / n_control)
    if variance <= 0:
        return 1.0
    z = (x_treated / n_treated - x_control / n_control) / math.sqrt(variance)
    return float(2 * norm.sf(abs(z)))


def holm_adjusted(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment, returned in the order given.

    Sorted ascending, the i-th smallest of m p-values (i from 0) becomes (m - i) * p, never less
    than the adjusted value before it and never above 1. With one p-value it is unchanged, so
    callers apply it whatever the number of arms.
    """
    order = sorted(range(len(p_values)), key=lambda index: p_values[index])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def chance_to_beat_control(x_treated: int, n_treated: int, x_control: int, n_control: int) -> float:
    """P(p_treated > p_control) with independent Beta(1 + x, 1 + n - x) posteriors (uniform priors).

    The integral of f_treated(t) * F_control(t) over [0, 1], by adaptive quadrature, deterministic
    unlike Monte Carlo. The integral runs over the treated posterior's 1e-15 to 1 - 1e-15 quantiles,
    not [0, 1]: with thousands of enrollments its density is a spike the quadrature's first samples
    would all miss (returning 0), and beyond those quantiles the integrand adds less than a float can hold.
    """
    _check_counts(x_treated, n_treated)
    _check_counts(x_control, n_control)
    treated = beta(1 + x_treated, 1 + n_treated - x_treated)
    control = beta(1 + x_control, 1 + n_control - x_control)
    low, high = float(treated.ppf(1e-15)), float(treated.isf(1e-15))
    value, _error = integrate.quad(lambda t: treated.pdf(t) * control.cdf(t), low, high, epsabs=1e-12, epsrel=1e-10, limit=200)
    return min(1.0, max(0.0, float(value)))


def mean_interval(count: int, total: float, total_of_squares: float) -> Interval | None:
    """The 95 % interval of a mean from `count` values, their sum and the sum of their squares: mean +- t * s / sqrt(n).

    t is Student's quantile with n - 1 degrees of freedom, s the sample standard deviation. The
    sums are what the store keeps per group, so the interval needs no second pass over the values.
    None with fewer than two values (no spread to estimate). Rounding can make the sum of squared
    deviations a hair negative when every value is equal; it is then zero, and so is the width.
    """
    if count < 2:
        return None
    mean = total / count
    squared_deviations = max(0.0, total_of_squares - total * mean)
    standard_error = math.sqrt(squared_deviations / (count - 1) / count)
    half_width = float(t.ppf(1 - (1 - CONFIDENCE) / 2, count - 1)) * standard_error
    return Interval(mean - half_width, mean + half_width)


def net_promoter_score(promoters: int, detractors: int, responses: int) -> float | None:
    """% promoters - % detractors, from -100 to 100; None without responses."""
    _check_buckets(promoters, detractors, responses)
    return 100 * (promoters - detractors) / responses if responses > 0 else None


def net_promoter_interval(promoters: int, detractors: int, responses: int, z: float = Z_95) -> Interval | None:
    """The 95 % Wald interval of the NPS, in NPS points (-100 to 100).

    With p and d the shares of promoters and detractors in one sample of n, the score p - d has the
    multinomial variance (p + d - (p - d)^2) / n (Var p + Var d - 2 Cov(p, d), Cov = -p d / n; Rocks
    2016, section 2). The interval is clipped to [-100, 100]. None without responses.
    """
    _check_buckets(promoters, detractors, responses)
    if responses == 0:
        return None
    p, d = promoters / responses, detractors / responses
    half_width = z * math.sqrt(max(0.0, p + d - (p - d) ** 2) / responses)
    return Interval(100 * max(-1.0, p - d - half_width), 100 * min(1.0, p - d + half_width))


def _check_buckets(promoters: int, detractors: int, responses: int) -> None:
    if promoters < 0 or detractors < 0 or promoters + detractors > responses:
        raise ValueError(f"promoters and detractors must be at most the responses, got {promoters} + {detractors} of {responses}")


def _check_counts(x: int, n: int) -> None:
    if n < 0 or x < 0 or x > n:
        raise ValueError(f"counts must satisfy 0 <= conversions <= enrollments, got {x} of {n}")
