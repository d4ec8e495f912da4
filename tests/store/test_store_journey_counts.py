"""A journey's counts: the fold and the fast reader equal a brute-force count of the facts, whatever the facts."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator import ir
from orchestrator.store import Store
from orchestrator.store.values import JourneyFact
from tests.store.fact_oracle import brute_force_counts, fact_rows

BASE = datetime(2026, 3, 1, tzinfo=UTC)


def metric(metric_id: str, kind: ir.MetricKind) -> ir.Metric:
    return ir.Metric(metric_id, kind, "survey_answered", "event.score")


def journey(journey_id: str, version: str, *, within: int | None, goal: bool, holdout: float, extra: bool) -> ir.Journey:
    """welcome (email) -> pause (wait) -> ab (split a/b, maybe a holdout) -> nudge (sms) -> done; `extra`: a survey send too."""
    steps: list[ir.Step] = [
        ir.SendStep("welcome", "email", "pause"),
        ir.WaitStep("pause", 3600, "ab"),
        ir.SplitStep("ab", (ir.SplitPath("a", 1, "nudge"), ir.SplitPath("b", 1, "survey" if extra else "done")), holdout),
        ir.SendStep("nudge", "sms", "survey" if extra else "done"),
        ir.ExitStep("done"),
    ]
    if extra:
        steps.insert(4, ir.SendStep("survey", "email", "done"))
    return ir.Journey(
        journey_id, journey_id, version, ir.EventTrigger("signed_up"), ir.Entry(), ir.Settings(), tuple(steps), "welcome", ("signed_up",),
        goal=ir.Goal("ordered", None, within, within) if goal else None,
        metrics=(metric("nps", "nps"), metric("spend", "sum")) if extra else (metric("nps", "nps"),),
    )  # fmt: skip


@st.composite
def versions(draw: Any) -> list[ir.Journey]:
    """One or two versions of a random journey, newest first."""
    journey_id = "journey"
    within = st.sampled_from([3600, 86400, 3 * 86400])
    holdout = draw(st.sampled_from([0.0, 0.1]))
    old = journey(journey_id, "v1", within=draw(within), goal=draw(st.booleans()), holdout=holdout, extra=False)
    if not draw(st.booleans()):
        return [old]
    return [journey(journey_id, "v2", within=draw(within), goal=True, holdout=holdout, extra=True), old]


@st.composite
def enrollment_facts(draw: Any, journeys: list[ir.Journey], number: int) -> list[JourneyFact]:
    """The facts of one enrollment: mostly what a run writes, in any order, some missing, some outside the goal window."""
    version = draw(st.sampled_from(journeys))
    steps = [step.id for step in version.steps]
    enrollment, customer = f"e{number}", draw(st.sampled_from(["c1", "c2", "c3"]))
    entered_at = BASE + timedelta(minutes=draw(st.integers(0, 6 * 24 * 60)))

    def fact(kind: str, key: str, offset_minutes: int, **parts: Any) -> JourneyFact:
        at = entered_at + timedelta(minutes=offset_minutes)
        return JourneyFact(kind, version.id, version.version, enrollment, customer, key, at, **parts)

    offset = st.integers(-60, 5 * 24 * 60)
    facts = [fact("entered", "entered", 0)] if draw(st.integers(0, 9)) else []
    for step in draw(st.lists(st.sampled_from(steps), max_size=4)):
        arm = draw(st.sampled_from(["a", "b", "holdout"])) if step == "ab" else None
        facts.append(fact("reached", f"reached:{step}", draw(offset), step_id=step, name=arm))
    if draw(st.booleans()):  # the split step standing in for a branch: the fold does not look at kinds
        facts.append(fact("branched", "branched:ab", draw(offset), step_id="ab", name=draw(st.sampled_from(["nudge", "done"]))))
    for step, visit in draw(st.lists(st.tuples(st.sampled_from(steps), st.integers(1, 2)), max_size=3)):
        facts.append(fact("rested", f"rested:{step}:{visit}", draw(offset), step_id=step, visit=visit))
    sends = st.tuples(st.sampled_from(["welcome", "nudge", "survey"]), st.integers(1, 2))
    for step, visit in draw(st.lists(sends, max_size=4)):
        status = draw(st.sampled_from(["sent", "sent", "held", "suppressed", "failed"]))
        reason = draw(st.sampled_from(["consent", "quiet_hours"])) if status == "suppressed" else None
        at = draw(offset)
        parts = {"step_id": step, "visit": visit, "name": "email", "status": status, "detail": reason}
        facts.append(fact("message", f"message:{step}:{visit}:{status}", at, **parts))
        for outcome in draw(st.lists(st.sampled_from(["delivered", "opened", "clicked", "bounced", "failed"]), max_size=3)):
            key = f"provider:{step}:{visit}:{outcome}"
            facts.append(fact("provider", key, draw(offset), step_id=step, visit=visit, name="email", status=outcome))
    if draw(st.booleans()):
        facts.append(fact("goal", "goal", draw(offset), name="ordered", value=draw(st.sampled_from([None, 0.0, 12.5, 40.0]))))
    for metric in draw(st.lists(st.sampled_from(["nps", "spend"]), max_size=2)):
        answer = draw(st.sampled_from([None, 0.0, 6.0, 8.0, 10.0]))
        bucket = {0.0: "detractor", 6.0: "detractor", 8.0: "passive", 10.0: "promoter"}.get(answer) if metric == "nps" else None
        facts.append(fact("response", f"response:{metric}", draw(offset), name=metric, value=answer, status=bucket))
    if len(journeys) > 1 and version is journeys[-1] and draw(st.booleans()):  # moved onto the newer version, at a step of it
        newer = journeys[0]
        step = draw(st.sampled_from([s.id for s in newer.steps]))
        at = entered_at + timedelta(minutes=draw(offset))
        moved = {"step_id": step, "name": version.version, "detail": step}
        facts.append(JourneyFact("moved", newer.id, newer.version, enrollment, customer, f"moved:{step}:{newer.version}", at, **moved))
    if draw(st.booleans()):
        status = draw(st.sampled_from(["completed", "converted", "exited", "holdout", "failed"]))
        facts.append(fact("ended", "ended", draw(offset), step_id=draw(st.sampled_from(steps)), status=status))
    return draw(st.permutations(facts))


@st.composite
def journey_runs(draw: Any) -> tuple[list[ir.Journey], list[list[JourneyFact]]]:
    """Random versions, and their enrollments' facts cut into the batches recorded between folds."""
    journeys = draw(versions())
    facts = [f for n in range(draw(st.integers(1, 8))) for f in draw(enrollment_facts(journeys, n))]
    facts = draw(st.permutations(facts))
    cuts = sorted(draw(st.lists(st.integers(0, len(facts)), max_size=2)))
    return journeys, [facts[a:b] for a, b in itertools.pairwise([0, *cuts, len(facts)])]


days = st.one_of(st.none(), st.integers(0, 7).map(lambda n: BASE.date() + timedelta(days=n)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(run=journey_runs(), first_day=days, last_day=days, hours=st.integers(0, 12 * 24))
def test_the_counts_are_what_the_facts_say_however_they_arrive(
    store: Store, run: tuple[list[ir.Journey], list[list[JourneyFact]]], first_day: date | None, last_day: date | None, hours: int
) -> None:
    # Ids of its own per run: the store is shared by the examples (and hypothesis replays an example).
    journey_id = f"j{uuid4().hex}"
    journeys = [replace(version, id=journey_id) for version in run[0]]
    batches = [[replace(f, journey_id=journey_id, enrollment_id=f"{journey_id}-{f.enrollment_id}") for f in batch] for batch in run[1]]
    now = BASE + timedelta(hours=hours)
    with store.session() as session:
        for version in reversed(journeys):
            session.deploy(version, BASE)
    for batch in batches:
        with store.session() as session:
            session.record_facts(batch)
        counts = store.journey_counts(journeys, first_day=first_day, last_day=last_day, now=now)
        assert counts == brute_force_counts(fact_rows(store, journeys[0].id), journeys, first_day=first_day, last_day=last_day, now=now)
    for one in journeys:  # each version on its own
        counts = store.journey_counts([one], first_day=first_day, last_day=last_day, now=now)
        assert counts == brute_force_counts(fact_rows(store, one.id), [one], first_day=first_day, last_day=last_day, now=now)
