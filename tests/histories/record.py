"""Record workflow histories of enrollments that use every step kind, for the replay test.

    .venv/bin/python tests/histories/record.py [SCENARIO ...]

Runs each scenario (all by default) and writes one JSON history per workflow run next
to this file (`<scenario>.json`, or `<scenario>.run<N>.json` for an enrollment that
continued as new). Most run on the time-skipping test server; `DEV_SCENARIOS` run on the
Temporal dev server, which has the custom search attributes, so their histories hold
the `CurrentStep` upserts the time-skipping server cannot record. `test_replay.py`
replays them with the current interpreter: a change to `orchestrator/runtime/workflow.py`
that would break enrollments already in flight fails there. Re-record only for a change
that is meant to be incompatible and is gated by the input's `revision` or with
`workflow.patched` (docs/architecture.md); keep the old files next to the new ones under
another name (`<scenario>.<what>.json`, which re-recording leaves alone) so every code
path stays covered: `findable.unpatched.json` is `findable` as recorded before the
`current-step-when-waiting-local-finish` patch, `findable.patched.json` with it, before
interpreter revision 1. `awaited` is the first recorded on revision 2 (a wait_for whose
match the steps read as `events`); the others were recorded before it. The `progress_*`
scenarios are the first on revision 3 (the `reached` and `rested` facts, a local
`record_progress` before each block): the tour's every step kind with a held send, a loop
that continues as new at a step and in the middle of a wait, and a holdout measured for its window.
`facts_drip` is the first on revision 4 (a send records the facts noted before it and the
`wait` or `wait_for` it goes to): a held send before a wait, and a loop of send-then-wait_for
that continues as new. `moved` is an enrollment moved onto a newer version while it waits (the
`move` signal, with its patch marker: `journey deploy --migrate`), then asked again, which the new run ignores;
`moved.unhandled.json` was recorded by the interpreter from before the `move` handler (commit 2926a4b), which
left the signal unhandled and finished on v1: a worker with the handler must replay that as it happened.
`timers` is the first on revision 5 (a wait's timer left running when an event wakes the enrollment, never cancelled).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from orchestrator.runtime.contracts import EVENT_SIGNAL, MOVE_SIGNAL, STATUS_QUERY, EnrollmentStatus, EventMessage
from orchestrator.simulation.simulator import Simulator
from orchestrator.store import Store
from tests.runtime.moving import V1, V2, move
from tests.runtime.support import Harness, dev_environment, harness, journey

HERE = Path(__file__).parent

TOUR = """
    id: tour
    name: Every step kind
    trigger: {event: signed_up}
    goal: {event: bought, within: 30d}
    exit_on: [{event: unsubscribed, where: "event.everything | default(true)"}]
    settings:
      timezone: Europe/Paris
      quiet_hours: {from: "21:00", to: "08:00"}
      frequency_cap: {max: 5, per: 1d}
    steps:
      - id: known
        branch:
          - when: "customer.email"
            next: remember
          - else: end
      - id: remember
        update:
          set: {tour: started}
          compute: {tours: "customer.tours | default(0) + 1"}
          unset: [old_flag]
      - id: settle
        description: 09:00 UTC + 13h is 23:00 in Paris, inside quiet hours
        wait: 13h
      - id: welcome
        send: {channel: email, subject: "Welcome {{ customer.first_name }}", body: "<p>Order {{ event.plan }}</p>"}
      - id: morning
        wait: {until: "10:00", days: [mon, tue, wed, thu, fri]}
      - id: before_renewal
        wait: {until_date: "customer.renews_on", offset: -1d, at: "09:00"}
      - id: crm
        webhook: {url: "https://crm.example.com/{{ customer.id }}", body: {tours: "{{ customer.tours }}"}}
      - id: variant
        split:
          paths:
            - {name: a, weight: 1, next: ask}
            - {name: b, weight: 1, next: ask}
      - id: ask
        wait_for: {event: answered, within: 1d, timeout_next: nudge}
        next: ask_again
      - id: ask_again
        wait_for: {event: answered, where: "event.again | default(false)", within: 1d, timeout_next: done}
      - id: nudge
        send: {channel: push, title: "Still there?", body: "Tap to answer"}
      - id: done
        exit: {reason: tour over}
    """

HOLDOUT = """
    id: holdout
    name: Holdout
    trigger: {event: trial_started}
    goal: {event: subscribed, within: 14d}
    steps:
      - id: test
        split:
          paths:
            - {name: a, weight: 1, next: kickoff}
          holdout: 1000
      - id: kickoff
        send: {channel: email, subject: "Kickoff", body: "x"}
    """

MEASURED = """
    id: measured
    name: Measured for the default week
    trigger: {event: trial_started}
    goal: {event: subscribed}
    steps:
      - id: test
        split:
          paths:
            - {name: a, weight: 1, next: kickoff}
          holdout: 1
      - id: kickoff
        send: {channel: email, subject: "Kickoff", body: "x"}
    """
"""A goal without `within`: the arm stays after its last step, and the holdout stays, for the measurement window."""

LOOP = """
    id: loop
    name: Weekly loop
    trigger: {event: go}
    exit_on: [unsubscribed, {event: noise, where: "event.stop | default(false)"}]
    steps:
      - id: nap
        wait: 7d
      - id: ping
        send: {channel: email, subject: "Week {{ customer.weeks | default(0) + 1 }}", body: "x"}
      - id: count
        update: {compute: {weeks: "customer.weeks | default(0) + 1"}}
      - id: listen
        wait_for: {event: answered, within: 2d, timeout_next: nap}
        next: nap
    """

DRIP = """
    id: drip
    name: Drip until answered
    trigger: {event: signed_up}
    goal: {event: bought, within: 60d}
    exit_on: [unsubscribed]
    settings:
      timezone: Europe/Paris
      quiet_hours: {from: "21:00", to: "08:00"}
    steps:
      - id: hello
        send: {channel: email, subject: "Hello", body: "x"}
      - id: pause
        wait: 1d
      - id: ask
        send: {channel: email, subject: "Tell us", body: "x"}
      - id: listen
        wait_for: {event: answered, within: 2d, timeout_next: pause}
      - id: thanks
        send: {channel: email, subject: "Thanks", body: "x"}
    """
"""Every send followed by a wait (revision 4 records the rest with the send), the first held by quiet hours."""

CUSTOMER = {"email": "ann@example.com", "first_name": "Ann", "renews_on": "2026-01-20", "old_flag": True}


async def tour(env: WorkflowEnvironment, h: Harness) -> WorkflowHandle[Any, Any]:
    h.identify("tour-1", CUSTOMER)
    handle = await h.enroll(journey(TOUR), "tour-1", trigger={"plan": "pro"})
    await env.sleep(timedelta(days=14))  # into `ask` (from 2026-01-19 08:00 UTC, the day before the renewal)
    await handle.signal(EVENT_SIGNAL, EventMessage("m-1", "answered"))
    await handle.signal(EVENT_SIGNAL, EventMessage("m-1", "answered"))  # a retried delivery, dropped
    await handle.signal(EVENT_SIGNAL, EventMessage("m-2", "answered", {"again": False}))  # does not match ask_again
    return handle


async def tour_timeout(env: WorkflowEnvironment, h: Harness) -> WorkflowHandle[Any, Any]:
    h.identify("tour-2", {**CUSTOMER, "timezone": "America/New_York"})
    return await h.enroll(journey(TOUR), "tour-2", trigger={"plan": "team"})


async def exit_on(env: WorkflowEnvironment, h: Harness) -> WorkflowHandle[Any, Any]:
    h.identify("tour-3", CUSTOMER)
    handle = await h.enroll(journey(TOUR), "tour-3")
    await env.sleep(timedelta(days=1, hours=3))
    await handle.signal(EVENT_SIGNAL, EventMessage("m-1", "unsubscribed", {"everything": False}))
    await handle.signal(EVENT_SIGNAL, EventMessage("m-2", "unsubscribed", {}))
    return handle


async def holdout(env: WorkflowEnvironment, h: Harness) -> WorkflowHandle[Any, Any]:
    h.identify("trial-1", {"email": "max@example.com"})
    handle = await h.enroll(journey(HOLDOUT), "trial-1")
    await env.sleep(timedelta(days=3))
    await handle.signal(EVENT_SIGNAL, EventMessage("m-1", "subscribed"))
    return handle


async def measured_arm(env: WorkflowEnvironment, h: Harness) -> WorkflowHandle[Any, Any]:
    h.identify("trial-1", {"email": "max@example.com"})  # path `a` (orchestrator/runtime/split.py)
    handle = await h.enroll(journey(MEASURED), "trial-1")
    await env.sleep(timedelta(days=3))
    await handle.signal(EVENT_SIGNAL, EventMessage("m-1", "subscribed"))
    return handle


async def measured_holdout(env: WorkflowEnvironment, h: Harness) -> WorkflowHandle[Any, Any]:
    h.identify("trial-2", {"email": "max@example.com"})  # the holdout
    return await h.enroll(journey(MEASURED), "trial-2")


async def continue_as_new(env: WorkflowEnvironment, h: Harness) -> WorkflowHandle[Any, Any]:
    h.identify("loop-1", {"email": "ann@example.com"})
    handle = await h.enroll(journey(LOOP), "loop-1", history_limit=60)
    for week in range(6):
        await env.sleep(timedelta(days=8))
        for n in range(4):  # noise while waiting: continues as new in the middle of a wait too
            await handle.signal(EVENT_SIGNAL, EventMessage(f"noise-{week}-{n}", "noise", {"stop": False}))
        if week % 2:
            await handle.signal(EVENT_SIGNAL, EventMessage(f"answer-{week}", "answered"))
    await handle.signal(EVENT_SIGNAL, EventMessage("bye", "unsubscribed"))
    return handle


FINDABLE = """
    id: findable
    name: Waits where the Temporal UI can see them
    trigger: {event: go}
    steps:
      - id: hello
        send: {channel: email, subject: "Hello", body: "x"}
      - id: pause
        wait: 1s
      - id: answer
        wait_for: {event: answered, within: 1h, timeout_next: end}
      - id: thanks
        send: {channel: email, subject: "Thanks", body: "x"}
    """


async def waiting_at(handle: WorkflowHandle[Any, Any], step: str) -> None:
    """Until the enrollment has entered `step` (real time: the dev server does not skip it)."""
    deadline = time.monotonic() + 30
    while (await handle.query(STATUS_QUERY, result_type=EnrollmentStatus)).step != step:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{handle.id} never reached {step}")
        await asyncio.sleep(0.1)


async def findable(env: WorkflowEnvironment, h: Harness) -> WorkflowHandle[Any, Any]:
    h.identify("find-1", {"email": "ann@example.com", "email_opt_in": True})
    handle = await h.enroll(journey(FINDABLE), "find-1", search_attributes=True)
    await waiting_at(handle, "answer")
    await handle.signal(EVENT_SIGNAL, EventMessage("m-1", "answered"))
    return handle


AWAITED = """
    id: awaited
    name: Reads what it waited for
    trigger: {event: asked}
    exit_on: [{event: left, where: "events.answer.properties.final | default(false)"}]
    steps:
      - id: answer
        wait_for: {event: answered, within: 2d, timeout_next: end}
      - id: route
        branch:
          - when: "events.answer.properties.score >= 9"
            next: thanks
          - else: pause
      - id: thanks
        send: {channel: email, subject: "Thanks for the {{ events.answer.properties.score }}", body: "x"}
        next: end
      - id: pause
        wait: 1d
        next: answer
    """


async def awaited(env: WorkflowEnvironment, h: Harness) -> WorkflowHandle[Any, Any]:
    """Interpreter revision 2: the match of `answer` is remembered, read by a branch, a send and an exit_on,
    replaced by the next match in the loop, and carried when the enrollment continues as new."""
    h.identify("ask-1", {"email": "ann@example.com"})
    handle = await h.enroll(journey(AWAITED), "ask-1", history_limit=40)
    await env.sleep(timedelta(hours=1))
    await handle.signal(EVENT_SIGNAL, EventMessage("m-1", "answered", {"score": 3}, "2026-01-05T10:00:00+00:00"))
    for n in range(12):  # exit_on conditions read `events` while it pauses, and the history grows past the limit
        await env.sleep(timedelta(hours=1))
        await handle.signal(EVENT_SIGNAL, EventMessage(f"left-{n}", "left", {}, "2026-01-05T11:00:00+00:00"))
    await env.sleep(timedelta(days=1))
    await handle.signal(EVENT_SIGNAL, EventMessage("m-2", "answered", {"score": 10}, "2026-01-06T12:00:00+00:00"))
    return handle


async def progress_tour(env: WorkflowEnvironment, h: Harness) -> WorkflowHandle[Any, Any]:
    """Revision 3: `tour` reporting its facts (a held send, a split, every kind of wait)."""
    return await tour(env, h)


async def progress_loop(env: WorkflowEnvironment, h: Harness) -> WorkflowHandle[Any, Any]:
    """Revision 3: the weekly loop, rested at each visit, its unreported facts carried through continue-as-new."""
    return await continue_as_new(env, h)


async def progress_holdout(env: WorkflowEnvironment, h: Harness) -> WorkflowHandle[Any, Any]:
    """Revision 3: the holdout reached at its split and resting there until the measurement window closes."""
    return await measured_holdout(env, h)


async def facts_drip(env: WorkflowEnvironment, h: Harness) -> WorkflowHandle[Any, Any]:
    """Revision 4: held at 22:30 in Paris, then each send records the wait after it; loops until answered,
    continuing as new on the way."""
    start = datetime(2026, 1, 5, 21, 30, tzinfo=UTC)
    h.identify("drip-1", {"email": "ann@example.com", "email_opt_in": True, "timezone": "Europe/Paris"}, start)
    handle = await h.enroll(journey(DRIP), "drip-1", start=start, history_limit=30)
    await env.sleep(timedelta(days=11))
    await handle.signal(EVENT_SIGNAL, EventMessage("m-1", "answered"))
    return handle


async def moved(env: WorkflowEnvironment, h: Harness) -> WorkflowHandle[Any, Any]:
    """Moved from the cart's v1 to v2 while it waits at `nap` (deadline kept), then asked again: the new run ignores it."""
    h.identify("move-1", {"email": "ann@example.com"})
    handle = await h.enroll(V1, "move-1")
    await env.sleep(timedelta(hours=1))
    await handle.signal(MOVE_SIGNAL, move(V2))
    await env.sleep(timedelta(hours=1))
    await handle.signal(MOVE_SIGNAL, move(V2))
    return handle


async def timers(env: WorkflowEnvironment, h: Harness) -> WorkflowHandle[Any, Any]:
    """Revision 5: at `listen`, an event it ignores and then its answer leave its timer running; the timer fires during
    the next `nap` for nothing, and the enrollment sleeps on the nap's timer again until it exits."""
    h.identify("timer-1", {"email": "ann@example.com"})
    handle = await h.enroll(journey(LOOP), "timer-1")
    await env.sleep(timedelta(days=7, hours=1))
    await handle.signal(EVENT_SIGNAL, EventMessage("noise-1", "noise", {"stop": False}))
    await handle.signal(EVENT_SIGNAL, EventMessage("answer-1", "answered"))
    await env.sleep(timedelta(days=3))
    await handle.signal(EVENT_SIGNAL, EventMessage("bye", "unsubscribed"))
    return handle


Scenario = Callable[[WorkflowEnvironment, Harness], Awaitable[WorkflowHandle[Any, Any]]]

SCENARIOS: dict[str, Scenario] = {
    "tour": tour,
    "tour_timeout": tour_timeout,
    "exit_on": exit_on,
    "holdout": holdout,
    "measured_arm": measured_arm,
    "measured_holdout": measured_holdout,
    "continue_as_new": continue_as_new,
    "awaited": awaited,
    "progress_tour": progress_tour,
    "progress_loop": progress_loop,
    "progress_holdout": progress_holdout,
    "facts_drip": facts_drip,
    "moved": moved,
    "timers": timers,
}
DEV_SCENARIOS: dict[str, Scenario] = {
    "findable": findable,
}


async def histories(env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The JSON history of every run of the enrollment, oldest first."""
    found: list[str] = []
    run_id = handle.first_execution_run_id or handle.result_run_id
    while run_id:
        history = await env.client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        found.append(history.to_json())
        last = history.events[-1]
        continued = last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id if continued else None
    return found


async def record(env: WorkflowEnvironment, scenarios: dict[str, Scenario]) -> None:
    for name, scenario in scenarios.items():
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(f"sqlite:///{Path(tmp) / 'store.db'}")
            store.migrate()
            async with harness(env, store) as h:
                handle = await scenario(env, h)
                result = await handle.result()
                runs = await histories(env, handle)
            store.dispose()
        # Only this scenario's own files: not `<scenario>.<what>.json` kept from before a patch, nor another
        # scenario whose name starts with this one (`tour_timeout` for `tour`).
        for old in [HERE / f"{name}.json", *HERE.glob(f"{name}.run*.json")]:
            old.unlink(missing_ok=True)
        for number, text in enumerate(runs, start=1):
            path = HERE / (f"{name}.json" if len(runs) == 1 else f"{name}.run{number}.json")
            path.write_text(text + "\n", encoding="utf-8")
        print(f"{name}: {result.status} at {result.step}, {len(runs)} run(s)")


async def main(names: list[str]) -> None:
    unknown = set(names) - SCENARIOS.keys() - DEV_SCENARIOS.keys()
    if unknown:
        raise SystemExit(f"no scenario {', '.join(sorted(unknown))}; there are {', '.join([*SCENARIOS, *DEV_SCENARIOS])}")
    skipping = {name: scenario for name, scenario in SCENARIOS.items() if not names or name in names}
    dev = {name: scenario for name, scenario in DEV_SCENARIOS.items() if not names or name in names}
    if skipping:
        async with Simulator.start() as simulator:
            await record(simulator.env, skipping)
    if dev:
        async with dev_environment() as env:
            await record(env, dev)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
