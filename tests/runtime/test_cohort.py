"""The cohort scheduler (orchestrator/runtime/cohort.py) under a fake host: what it batches, when it sleeps, how members part.

No Temporal: the host is a clock the test moves, and each activity's answer comes from a function of the
request, so each test reads as the rounds a cohort workflow would carry out.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from typing import Any

from orchestrator.runtime.cohort import Cohort, CohortCommand, ContinueCohort, Round, Sleep
from orchestrator.runtime.cohort_contracts import CohortInput, CohortMember
from orchestrator.runtime.contracts import INTERPRETER_REVISION, EventMessage, SendResult
from orchestrator.runtime.end_reasons import BROADCAST_CANCELLED
from tests.runtime.support import START, journey

SEND_WAIT_SEND = """
    id: drip
    name: drip
    trigger: {schedule: {cron: "0 9 * * *"}}
    entry: {audience: "true"}
    steps:
      - {id: first, send: {channel: email, subject: Hi, body: one}}
      - {id: pause, wait: 1d}
      - {id: second, send: {channel: email, subject: Again, body: two}}
"""

BY_PLAN = """
    id: by_plan
    name: by_plan
    trigger: {schedule: {cron: "0 9 * * *"}}
    entry: {audience: "true"}
    steps:
      - id: which
        branch:
          - {when: "customer.plan == 'pro'", next: pro_mail}
          - else: pause
      - {id: pause, wait: 2h}
      - {id: free_mail, send: {channel: email, subject: Free, body: free}, next: end}
      - {id: pro_mail, send: {channel: email, subject: Pro, body: pro}}
"""

AWAITS_CLICK = """
    id: awaits
    name: awaits
    trigger: {schedule: {cron: "0 9 * * *"}}
    entry: {audience: "true"}
    steps:
      - {id: ask, send: {channel: email, subject: Ask, body: ask}}
      - {id: clicked, wait_for: {event: clicked, within: 2d, timeout_next: nudge}}
      - {id: thanks, send: {channel: email, subject: Thanks, body: thanks}, next: end}
      - {id: nudge, send: {channel: email, subject: Nudge, body: nudge}}
"""


class FakeHost:
    def __init__(self) -> None:
        self.at = START
        self.long = False

    def now(self) -> datetime:
        return self.at

    def history_is_long(self) -> bool:
        return self.long

    def note(self, message: str) -> None:
        pass


def cohort_of(text: str, host: FakeHost, customers: list[str], members: list[CohortMember] | None = None) -> Cohort:
    compiled = journey(text)
    members = members if members is not None else [CohortMember(c, f"e-{c}") for c in customers]
    start = CohortInput(compiled.to_dict(), "cohort-1", members, revision=INTERPRETER_REVISION, upsert_search_attributes=False)
    return Cohort(start, host, compiled)


def sent(activity: str, request: Any) -> Any:
    """Every send goes out; a branch is true for customers whose id says `pro`."""
    if activity == "send_message":
        return SendResult("sent")
    if activity == "evaluate_conditions":
        return ["pro" in request.customer_id for _ in request.conditions]
    raise AssertionError(activity)


def answered(work: Round, answer: Callable[[str, Any], Any] = sent) -> dict[str, list[Any]]:
    return {batch.activity: [answer(batch.activity, request) for request in batch.requests] for batch in work.calls}


def until_sleep(steps: Generator[CohortCommand, Any, None], first: CohortCommand, log: list[Round]) -> Sleep:
    """Carry out rounds (everything sent) until the cohort sleeps; the rounds are appended to `log`."""
    command = first
    while isinstance(command, Round):
        log.append(command)
        command = steps.send(answered(command))
    assert isinstance(command, Sleep), command
    return command


def sends_of(work: Round) -> list[tuple[str, str]]:
    sends = [batch for batch in work.calls if batch.activity == "send_message"]
    return [(request.customer_id, request.step.id) for batch in sends for request in batch.requests]


def test_a_rounds_sends_go_out_as_one_batch_and_the_cohort_sleeps_once_for_all() -> None:
    host = FakeHost()
    cohort = cohort_of(SEND_WAIT_SEND, host, ["a", "b", "c"])
    steps = cohort.run()
    rounds: list[Round] = []

    sleep = until_sleep(steps, next(steps), rounds)

    assert [batch.activity for batch in rounds[0].calls] == ["send_message"]
    assert sends_of(rounds[0]) == [("a", "first"), ("b", "first"), ("c", "first")]
    assert sleep.until == START + timedelta(days=1)
    assert set(cohort.waiting().values()) == {START + timedelta(days=1)}, "one instant for the three"

    host.at = START + timedelta(days=1)
    rounds.clear()
    try:
        until_sleep(steps, steps.send(None), rounds)
    except StopIteration:
        pass
    assert sends_of(rounds[0]) == [("a", "second"), ("b", "second"), ("c", "second")]
    finishes = [request for work in rounds for request in work.finishes]
    assert [(f.customer_id, f.status) for f in finishes] == [("a", "completed"), ("b", "completed"), ("c", "completed")]
    assert len([work for work in rounds if work.finishes]) == 1, "the ends are written together"


def test_members_diverge_at_a_branch_and_the_cohort_wakes_for_the_earliest() -> None:
    host = FakeHost()
    cohort = cohort_of(BY_PLAN, host, ["pro-1", "free-1", "pro-2"])
    steps = cohort.run()
    rounds: list[Round] = []

    sleep = until_sleep(steps, next(steps), rounds)

    conditions = rounds[0].calls[0]
    assert conditions.activity == "evaluate_conditions" and conditions.members == ["e-pro-1", "e-free-1", "e-pro-2"]
    assert sends_of(rounds[1]) == [("pro-1", "pro_mail"), ("pro-2", "pro_mail")]
    assert [f.customer_id for f in rounds[1].finishes] == []
    assert [f.customer_id for f in rounds[2].finishes] == ["pro-1", "pro-2"]
    assert cohort.waiting() == {"e-free-1": START + timedelta(hours=2)} and sleep.until == START + timedelta(hours=2)

    host.at = sleep.until
    rounds.clear()
    command = steps.send(None)
    assert isinstance(command, Round) and sends_of(command) == [("free-1", "free_mail")]


def test_an_event_wakes_only_its_member() -> None:
    host = FakeHost()
    cohort = cohort_of(AWAITS_CLICK, host, ["a", "b"])
    steps = cohort.run()
    until_sleep(steps, next(steps), [])

    host.at = START + timedelta(hours=3)
    assert not cohort.has_news()
    assert cohort.receive("e-b", EventMessage("m-1", "clicked", {}, host.at.isoformat()))
    assert cohort.has_news()
    rounds: list[Round] = []
    sleep = until_sleep(steps, steps.send(None), rounds)

    assert sends_of(rounds[0]) == [("b", "thanks")]
    assert cohort.waiting() == {"e-a": START + timedelta(days=2)} and sleep.until == START + timedelta(days=2)
    assert cohort.status("e-b").status == "completed"  # type: ignore[union-attr]
    assert cohort.status("e-a").step == "clicked"  # type: ignore[union-attr]


def test_a_cancelled_cohort_ends_every_member_and_sends_nothing_more() -> None:
    host = FakeHost()
    cohort = cohort_of(SEND_WAIT_SEND, host, ["a", "b"])
    steps = cohort.run()
    until_sleep(steps, next(steps), [])

    host.at = START + timedelta(hours=1)
    cohort.cancel(BROADCAST_CANCELLED)
    assert cohort.has_news()
    command = steps.send(None)

    assert isinstance(command, Round) and not command.calls
    assert [(f.customer_id, f.status, f.step, f.reason) for f in command.finishes] == [
        ("a", "exited", "pause", BROADCAST_CANCELLED),
        ("b", "exited", "pause", BROADCAST_CANCELLED),
    ]


def test_a_forgotten_member_sends_nothing_more_and_is_not_answered_for() -> None:
    host = FakeHost()
    cohort = cohort_of(SEND_WAIT_SEND, host, ["a", "b"])
    steps = cohort.run()
    first: list[Round] = []
    until_sleep(steps, next(steps), first)
    assert sends_of(first[0]) == [("a", "first"), ("b", "first")]

    assert cohort.forget("e-a")
    assert not cohort.forget("e-a"), "a repeated erasure changes nothing"
    assert cohort.status("e-a") is None and not cohort.receive("e-a", EventMessage("m-1", "clicked", {}, host.at.isoformat()))
    host.at = START + timedelta(days=1)
    rounds: list[Round] = []
    try:
        until_sleep(steps, steps.send(None), rounds)
    except StopIteration:
        pass
    assert [pair for work in rounds for pair in sends_of(work)] == [("b", "second")]
    assert [f.customer_id for work in rounds for f in work.finishes] == ["b"], "no end written for the forgotten member"


def run_to_end(text: str, customers: list[str], events: dict[str, list[tuple[timedelta, str]]], long_at: timedelta | None) -> Any:
    """Run a cohort to its end, continuing it as new the first time it offers to after `long_at`; what each member
    sent and when, how each ended, and the continued runs' members."""
    host = FakeHost()
    pending = sorted((START + offset, customer, name) for customer, happenings in events.items() for offset, name in happenings)
    cohort = cohort_of(text, host, customers)
    steps = cohort.run()
    command: CohortCommand = next(steps)
    sends: list[tuple[str, str, datetime]] = []
    ends: dict[str, tuple[str, str | None]] = {}
    continued: list[list[CohortMember]] = []
    while True:
        if isinstance(command, Round):
            sends += [(customer, step, host.at) for customer, step in sends_of(command)]
            ends |= {f.customer_id or "": (f.status, f.step) for f in command.finishes}
            answer: Any = answered(command)
        elif isinstance(command, ContinueCohort):
            continued.append(command.members)
            host.long = False
            cohort = cohort_of(text, host, [], command.members)
            steps = cohort.run()
            command = next(steps)
            continue
        else:
            arrival = pending[0][0] if pending else None
            candidates = [t for t in (command.until, arrival) if t is not None]
            if not candidates:
                break
            host.at = min(candidates)
            while pending and pending[0][0] <= host.at:
                at, customer, name = pending.pop(0)
                cohort.receive(f"e-{customer}", EventMessage(f"{customer}-{name}-{at}", name, {}, at.isoformat()))
            answer = None
        if long_at is not None and host.at >= START + long_at and not continued:
            host.long = True
        try:
            command = steps.send(answer)
        except StopIteration:
            break
    return sends, ends, continued


def test_a_cohort_that_continues_as_new_keeps_every_members_outcome() -> None:
    events = {"a": [(timedelta(hours=5), "clicked")], "c": [(timedelta(days=1, hours=1), "clicked")]}
    alone = run_to_end(AWAITS_CLICK, ["a", "b", "c"], events, long_at=None)
    continued = run_to_end(AWAITS_CLICK, ["a", "b", "c"], events, long_at=timedelta(hours=1))

    assert continued[2], "it continued as new"
    # The cohort grew long when a's click came: a parked on its way to `thanks`, the others in their wait.
    resumes = [(member.resume.step, member.resume.waiting) for member in continued[2][0]]  # type: ignore[union-attr]
    assert resumes == [("thanks", False), ("clicked", True), ("clicked", True)]
    assert continued[:2] == alone[:2]
    assert alone[1] == {"a": ("completed", "thanks"), "b": ("completed", "nudge"), "c": ("completed", "thanks")}


def test_a_parked_member_an_event_reaches_is_restarted_in_place() -> None:
    """`b` is held by a send it retries in two hours, so the cohort cannot continue as new yet; `a` parks at its
    wait_for, gets its click, and goes on in this run as a new run would."""
    host = FakeHost()
    cohort = cohort_of(AWAITS_CLICK, host, ["a", "b"])
    steps = cohort.run()
    retry_at = START + timedelta(hours=2)

    def held_for_b(activity: str, request: Any) -> Any:
        if request.customer_id == "b" and host.at < retry_at:
            return SendResult("deferred", "quiet hours", retry_at.isoformat())
        return sent(activity, request)

    command = next(steps)
    assert isinstance(command, Round)
    host.long = True
    command = steps.send(answered(command, held_for_b))
    while isinstance(command, Round):  # the report of b's held send
        command = steps.send(answered(command, held_for_b))
    assert isinstance(command, Sleep) and command.until == retry_at
    assert cohort.waiting() == {"e-b": retry_at}, "a parked, b blocked in its held send"

    host.at = START + timedelta(hours=1)
    cohort.receive("e-a", EventMessage("m-1", "clicked", {}, host.at.isoformat()))
    command = steps.send(None)
    assert isinstance(command, Round) and sends_of(command) == [("a", "thanks")]
    command = steps.send(answered(command, held_for_b))
    assert isinstance(command, Round) and [(f.customer_id, f.status) for f in command.finishes] == [("a", "completed")]
