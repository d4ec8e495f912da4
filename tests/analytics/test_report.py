"""A journey's report from hand-computed counts: the figures a reader sees, and nulls where nothing can be divided."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from orchestrator import ir
from orchestrator.analytics.counts import (
    DayCounts,
    GroupCounts,
    JourneyCounts,
    MessageCounts,
    MetricCounts,
    MetricSample,
    SplitCounts,
    StepCounts,
    ValueSample,
)
from orchestrator.analytics.report import journey_report
from orchestrator.compiler import compile_file, compile_text

JOURNEYS = Path(__file__).parents[2] / "journeys"
NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)

TWO_ARMS_NO_GOAL = """
id: two_arms
name: Two arms
trigger: {event: signed_up}
steps:
  - id: pick
    split:
      paths:
        - {name: short, weight: 50, next: short_mail}
        - {name: long, weight: 50, next: long_mail}
  - id: short_mail
    send: {channel: sms, body: "Hi"}
    next: end
  - id: long_mail
    send: {channel: email, subject: "Hello", body: "<p>Hello at length</p>"}
"""


def compiled(text: str) -> ir.Journey:
    result = compile_text(text, file="inline.yaml", directory=JOURNEYS)
    assert result.journey is not None, result.diagnostics
    return result.journey


def subject_line_test() -> ir.Journey:
    """The shipped A/B test: arms a and b, and a 10 % holdout; goal subscription_started within 14 days."""
    result = compile_file(JOURNEYS / "subject_line_test.yaml")
    assert result.journey is not None
    return result.journey


def counts(journey: ir.Journey, **figures: object) -> JourneyCounts:
    base: dict[str, object] = {
        "journey": journey.id,
        "versions": (journey.version,),
        "first_day": None,
        "last_day": None,
        "entered": 0,
        "customers": 0,
        "waiting": 0,
        "completed": 0,
        "exited": 0,
        "holdout": 0,
        "failed": 0,
        "converted": 0,
        "matured": 0,
    }
    return JourneyCounts(**(base | figures))  # type: ignore[arg-type]


def test_an_empty_journey_reports_zeros_and_nulls_not_division_errors() -> None:
    journey = subject_line_test()
    split = SplitCounts("subject_test", (GroupCounts("a", 0, 0, 0), GroupCounts("holdout", 0, 0, 0)))
    empty = counts(journey, steps=(StepCounts("subject_test", 0, 0), StepCounts("kickoff_benefit", 0, 0)), splits=(split,))
    document = journey_report(empty, [journey], NOW).document()

    assert document["totals"] == {
        "entered": 0, "customers": 0, "waiting": 0, "completed": 0, "converted": 0, "exited": 0, "holdout": 0, "failed": 0,
        "merged": 0,
    }  # fmt: skip
    assert document["conversion"] == {"converted": 0, "matured": 0, "maturing": 0, "rate": None, "ci": None}
    assert document["revenue"] is None  # the goal declares no value, and no conversion carried one
    benefit = document["steps"][1]
    assert (benefit["reached_rate"], benefit["delivery_rate"], benefit["open_rate"], benefit["credited_share"]) == (None, None, None, None)
    (split,) = document["splits"]
    assert split["control"] == "holdout"
    assert all(arm["rate"] is None and arm["ci"] is None for arm in split["arms"])
    assert split["verdict"] == "too few matured enrollments: 0 of the 500 per arm needed"
    assert split["explanation"] == "no holdout enrollment has matured yet: the incremental lift is unknown"


def test_totals_conversion_and_revenue_per_enrollment_by_hand() -> None:
    journey = subject_line_test()
    # 900 matured enrollments, 120 conversions worth 6,000 in all (sum of squares 400,000); 100 still maturing.
    report = journey_report(
        counts(journey, entered=1000, customers=990, waiting=100, completed=700, exited=50, holdout=100, converted=120, matured=900,
               goal_values=ValueSample(900, 6000.0, 400000.0), first_day=date(2026, 3, 1), last_day=date(2026, 3, 31)),
        [journey],
        NOW,
    )  # fmt: skip
    document = report.document()
    assert (document["journey"], document["from"], document["to"]) == ("subject_line_test", "2026-03-01", "2026-03-31")
    assert document["goal"] == {"event": "subscription_started", "window_seconds": 14 * 86400, "value": None}
    conversion = document["conversion"]
    assert (conversion["converted"], conversion["matured"], conversion["maturing"]) == (120, 900, 100)
    assert conversion["rate"] == pytest.approx(120 / 900)
    assert (round(conversion["ci"]["low"], 4), round(conversion["ci"]["high"], 4)) == (0.1127, 0.1571)  # Wilson, 120 of 900

    revenue = document["revenue"]
    assert (revenue["total"], revenue["enrollments"], revenue["conversions"]) == (6000.0, 900, 120)
    assert revenue["mean_per_enrollment"] == pytest.approx(6000 / 900)
    # s^2 = (400,000 - 6,000^2 / 900) / 899; half width t(0.975, 899) * s / sqrt(900), t = 1.962606.
    half_width = 1.962606 * math.sqrt((400000 - 6000**2 / 900) / 899 / 900)
    assert revenue["ci"]["low"] == pytest.approx(6000 / 900 - half_width, abs=1e-5)
    assert revenue["ci"]["high"] == pytest.approx(6000 / 900 + half_width, abs=1e-5)


def test_steps_show_raw_counts_beside_rates_over_delivered() -> None:
    journey = subject_line_test()
    messages = MessageCounts(sent=450, delivered=440, opened=220, clicked=44, bounced=9, failed=1, held=3, suppressed={"no consent": 2})
    report = journey_report(
        counts(journey, entered=1000, converted=80, matured=800, steps=(StepCounts("kickoff_benefit", 450, 12, messages, credited=20),)),
        [journey],
        NOW,
    )
    (step,) = report.document()["steps"]
    assert (step["step"], step["kind"], step["channel"]) == ("kickoff_benefit", "send", "email")
    funnel = ("reached", "waiting", "sent", "delivered", "opened", "clicked")
    assert tuple(step[name] for name in funnel) == (450, 12, 450, 440, 220, 44)
    assert (step["bounced"], step["failed"], step["held"], step["suppressed"], step["credited"]) == (9, 1, 3, {"no consent": 2}, 20)
    assert step["reached_rate"] == 0.45
    assert step["open_rate"] == 0.5 and step["click_rate"] == 0.1  # over the 440 delivered
    assert step["delivery_rate"] == pytest.approx(440 / 450) and step["bounce_rate"] == pytest.approx(9 / 450)
    assert step["credited_share"] == 0.25  # 20 of the journey's 80 conversions


def test_a_branch_step_reports_how_many_it_sent_each_way() -> None:
    journey = subject_line_test()
    ways = {"kickoff_benefit": 30, "end": 12}
    (step,) = journey_report(counts(journey, steps=(StepCounts("subject_test", 42, 0, ways=ways),)), [journey], NOW).document()["steps"]
    assert step["ways"] == ways


def test_channels_add_up_their_send_steps_with_rates_over_the_sums() -> None:
    journey = compiled(TWO_ARMS_NO_GOAL.replace("channel: sms, body", "channel: email, subject: Hi, body"))
    short = MessageCounts(sent=100, delivered=90, opened=45, clicked=9, bounced=5, suppressed={"no consent": 3})
    long = MessageCounts(sent=50, delivered=50, opened=5, clicked=1, held=2, suppressed={"no consent": 1, "quiet hours": 4})
    steps = (StepCounts("pick", 160, 0), StepCounts("short_mail", 103, 0, short), StepCounts("long_mail", 57, 0, long))
    (email,) = journey_report(counts(journey, entered=160, steps=steps), [journey], NOW).document()["channels"]
    figures = ("channel", "steps", "sent", "delivered", "opened", "clicked")
    assert tuple(email[name] for name in figures) == ("email", 2, 150, 140, 50, 10)
    assert (email["bounced"], email["held"], email["suppressed"]) == (5, 2, {"no consent": 4, "quiet hours": 4})
    assert email["delivery_rate"] == pytest.approx(140 / 150) and email["open_rate"] == pytest.approx(50 / 140)
    assert email["click_rate"] == pytest.approx(10 / 140) and email["bounce_rate"] == pytest.approx(5 / 150)


def test_a_step_no_counted_version_has_is_reported_without_a_kind() -> None:
    journey = subject_line_test()
    (step,) = journey_report(counts(journey, steps=(StepCounts("gone", 3, 0),)), [journey], NOW).document()["steps"]
    assert (step["kind"], step["channel"], step["reached"]) == (None, None, 3)


def test_the_holdout_is_the_control_and_its_incremental_lift_is_explained() -> None:
    journey = subject_line_test()
    split = SplitCounts(
        "subject_test",
        (GroupCounts("a", 450, 400, 60), GroupCounts("b", 450, 400, 50), GroupCounts("holdout", 100, 100, 10)),
    )
    (judged,) = journey_report(counts(journey, splits=(split,)), [journey], NOW).document()["splits"]
    assert judged["control"] == "holdout"
    a, b, holdout = judged["arms"]
    figures = ("arm", "control", "assigned", "matured", "maturing", "converted", "rate")
    assert tuple(a[name] for name in figures) == ("a", False, 450, 400, 50, 60, 0.15)
    assert a["difference"] == pytest.approx(0.05) and a["lift"] == pytest.approx(0.5)
    assert a["incremental_conversions"] == pytest.approx(20.0)  # 60 - 400 x 10 %
    assert b["incremental_conversions"] == pytest.approx(10.0)  # 50 - 400 x 10 %
    assert 0 < a["p_value"] < 1 and 0.5 < a["chance_to_beat_control"] < 1
    assert (holdout["control"], holdout["difference"], holdout["p_value"], holdout["incremental_conversions"]) == (True, None, None, None)
    assert judged["verdict"] == "too few matured enrollments: 100 of the 500 per arm needed"
    assert judged["explanation"] == (
        "The holdout (100 matured enrollments, no message from this split on) converted at 10.0 %. "
        "a converted at 15.0 %: an incremental lift of +50.0 % (95% CI -20.3 % to +182.4 %); "
        "about 20 of its 60 conversions would not have happened without the journey. "
        "b converted at 12.5 %: an incremental lift of +25.0 % (95% CI -34.3 % to +137.7 %); "
        "about 10 of its 50 conversions would not have happened without the journey."
    )


def test_without_a_holdout_the_first_arm_is_the_control_and_a_winner_is_named() -> None:
    journey = compiled(TWO_ARMS_NO_GOAL)
    split = SplitCounts("pick", (GroupCounts("short", 5200, 5000, 500), GroupCounts("long", 5100, 5000, 605)))
    report = journey_report(counts(journey, splits=(split,)), [journey], NOW)
    (judged,) = report.document()["splits"]
    assert judged["control"] == "short"
    short, long = judged["arms"]
    assert short["control"] and not long["control"]
    assert long["incremental_conversions"] is None and judged["explanation"] is None  # no holdout: nothing to call incremental
    assert judged["verdict"] == "long converts better than short: +2.1 points, 95% CI +0.9 to +3.3"
    assert long["revenue"] is None


def test_a_journey_without_goal_or_split_reports_no_goal_no_revenue_no_splits() -> None:
    journey = compiled(TWO_ARMS_NO_GOAL)
    document = journey_report(counts(journey, entered=5, customers=5, completed=5), [journey], NOW).document()
    assert document["goal"] is None and document["revenue"] is None and document["splits"] == []
    assert document["conversion"] == {"converted": 0, "matured": 0, "maturing": 5, "rate": None, "ci": None}


def test_a_split_nobody_reached_yet_has_no_control() -> None:
    journey = compiled(TWO_ARMS_NO_GOAL)
    (judged,) = journey_report(counts(journey, splits=(SplitCounts("pick", ()),)), [journey], NOW).document()["splits"]
    assert (judged["control"], judged["arms"], judged["verdict"]) == (None, [], "no enrollment has been assigned yet")


def test_arms_report_revenue_per_enrollment_when_conversions_carry_values() -> None:
    journey = subject_line_test()
    split = SplitCounts("subject_test", (GroupCounts("a", 4, 4, 2, ValueSample(4, 30.0, 500.0)), GroupCounts("holdout", 2, 2, 0)))
    report = journey_report(counts(journey, goal_values=ValueSample(6, 30.0, 500.0), matured=6, splits=(split,)), [journey], NOW)
    a, holdout = report.document()["splits"][0]["arms"]
    # a: values 10 and 20 over 4 matured enrollments (two add 0): mean 7.5, s^2 = (500 - 30^2 / 4) / 3 = 91.667, t(0.975, 3) = 3.182446.
    assert a["revenue"]["total"] == 30.0 and a["revenue"]["mean_per_enrollment"] == 7.5
    half_width = 3.182446 * math.sqrt((500 - 900 / 4) / 3 / 4)
    assert a["revenue"]["ci"]["low"] == pytest.approx(7.5 - half_width, abs=1e-5)
    nothing = {"low": 0.0, "high": 0.0}
    assert holdout["revenue"] == {"total": 0.0, "enrollments": 2, "conversions": 0, "mean_per_enrollment": 0.0, "ci": nothing}


def sample(answers: list[float], buckets: dict[str, int] | None = None) -> MetricSample:
    return MetricSample(ValueSample(len(answers), sum(answers), sum(a * a for a in answers)), buckets or {})


def test_metrics_of_every_kind_score_in_their_unit() -> None:
    journey = compiled(TWO_ARMS_NO_GOAL)
    nps_answers = [10.0] * 5 + [8.0] * 3 + [2.0] * 2
    metrics = (
        MetricCounts("nps", "nps", sample(nps_answers, {"promoter": 5, "passive": 3, "detractor": 2})),
        MetricCounts("csat", "csat", sample([5, 4, 4, 2], {"satisfied": 3, "unsatisfied": 1})),
        MetricCounts("ces", "ces", sample([2, 3, 4])),
        MetricCounts("basket", "mean", sample([10, 30])),
        MetricCounts("tips", "sum", sample([1.5, 2.5])),
    )
    document = journey_report(counts(journey, metrics=metrics), [journey], NOW).document()
    scores = {m["id"]: (m["unit"], m["responses"], m["value"]) for m in document["metrics"]}
    assert scores == {
        "nps": ("points", 10, 30.0),  # 50 % promoters - 20 % detractors
        "csat": ("percent", 4, 75.0),
        "ces": ("mean", 3, 3.0),
        "basket": ("mean", 2, 20.0),
        "tips": ("sum", 2, 4.0),
    }
    nps, csat, ces, basket, tips = document["metrics"]
    assert nps["buckets"] == {"promoter": 5, "passive": 3, "detractor": 2}
    assert nps["ci"]["low"] == pytest.approx(30 - 100 * 1.959964 * math.sqrt((0.5 + 0.2 - 0.09) / 10), abs=1e-4)
    assert (round(csat["ci"]["low"], 2), round(csat["ci"]["high"], 2)) == (30.06, 95.44)  # Wilson 3 of 4, in percent
    assert ces["ci"]["low"] == pytest.approx(3 - 4.302653 * 1 / math.sqrt(3), abs=1e-5)  # s = 1, t(0.975, 2)
    assert basket["ci"] is not None and tips["ci"] is None


def test_metrics_are_reported_per_arm_and_per_week_and_empty_groups_score_null() -> None:
    journey = compiled(TWO_ARMS_NO_GOAL)
    metric = MetricCounts(
        "nps",
        "nps",
        sample([10, 0], {"promoter": 1, "detractor": 1}),
        by_arm={"pick": {"short": sample([10], {"promoter": 1}), "long": sample([0], {"detractor": 1})}},
        by_week={"2026-W11": sample([0], {"detractor": 1}), "2026-W10": sample([10], {"promoter": 1}), "2026-W12": sample([])},
    )
    (reported,) = journey_report(counts(journey, metrics=(metric,)), [journey], NOW).document()["metrics"]
    assert {arm: value["value"] for arm, value in reported["by_arm"]["pick"].items()} == {"short": 100.0, "long": -100.0}
    assert [(week["week"], week["responses"], week["value"]) for week in reported["by_week"]] == [
        ("2026-W10", 1, 100.0),
        ("2026-W11", 1, -100.0),
        ("2026-W12", 0, None),
    ]


def test_an_unknown_metric_kind_is_an_error_not_a_default() -> None:
    journey = compiled(TWO_ARMS_NO_GOAL)
    with pytest.raises(ValueError, match="kind 'median'"):
        journey_report(counts(journey, metrics=(MetricCounts("m", "median", sample([1])),)), [journey], NOW)


def test_daily_series_lists_each_day_by_its_date() -> None:
    journey = compiled(TWO_ARMS_NO_GOAL)
    daily = (DayCounts(date(2026, 3, 1), entered=10, converted=1, sent=12), DayCounts(date(2026, 3, 2), entered=4))
    document = journey_report(counts(journey, daily=daily), [journey], NOW).document()
    assert document["daily"] == [
        {"date": "2026-03-01", "entered": 10, "converted": 1, "sent": 12},
        {"date": "2026-03-02", "entered": 4, "converted": 0, "sent": 0},
    ]
