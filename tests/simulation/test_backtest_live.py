"""A backtest of an example journey over generated history matches, customer by customer, what the real workflows did.

The history is made live: 30 customers' identify and track calls, spread over three days, go through the
router (its entry rules, its store writes) to the real workflows and activities on the time-skipping server,
whose clock the test moves from call to call, then ten days on until every enrollment has ended. The
backtest then replays journeys/abandoned_cart.yaml over the same store and window, offline, and each
customer's enrollments must come out the same: how many, the steps each reached, each send's channel and
outcome (sent, or suppressed by the gate), where and how each ended, and which converted by the goal.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from orchestrator.compiler import compile_file
from orchestrator.host.worker import build_worker
from orchestrator.routing.calls import IdentifyCall, TrackCall
from orchestrator.routing.gateway import LoopGateway
from orchestrator.routing.router import Router
from orchestrator.simulation.backtest import BacktestOptions, backtest_customer, replayed_calls
from orchestrator.simulation.backtest_history import Window, read_histories
from orchestrator.simulation.backtest_run import backtest
from orchestrator.simulation.simulator import Simulator
from orchestrator.store import Store
from tests.keys import HASH_SECRET

JOURNEYS = Path(__file__).resolve().parents[2] / "journeys"
CUSTOMERS = 30
Summary = list[tuple[str, str | None, frozenset[str], dict[tuple[str, int], tuple[str, str]], bool]]
"""Per enrollment, oldest first: status, the step it ended at, the steps it reached, {(step, visit): (channel, outcome)}, converted."""


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with Simulator.start() as simulator:
        yield simulator.env


def script(seed: int = 7) -> list[tuple[float, str, str, dict[str, Any]]]:
    """(seconds after the start, customer, call: identify or an event name, traits or properties), in time order."""
    rng = random.Random(seed)
    calls: list[tuple[float, str, str, dict[str, Any]]] = []
    for n in range(CUSTOMERS):
        customer = f"shopper-{n:02d}"
        joined = rng.randrange(3600)
        country = rng.choice(["US", "US", "CA", "FR"])
        traits: dict[str, Any] = {"email": f"{customer}@example.com", "first_name": f"S{n}", "country": country}
        if n % 3 == 0:
            traits |= {"phone": f"+1415555{n:04d}", "sms_opt_in": True}
        if n % 4 == 1:
            traits["push_tokens"] = [f"token-{n}"]
        if n % 7 == 3:
            traits["email_opt_in"] = False
        calls.append((joined, customer, "identify", traits))
        if n % 10 == 9:
            continue  # never starts a checkout
        checkout = joined + rng.randrange(600, 86400)
        calls.append((checkout, customer, "checkout_started", {"cart_value": rng.choice([12, 25, 60, 140]), "cart_url": f"https://shop.example/c/{n}"}))
        if rng.random() < 0.4:
            calls.append((checkout + rng.randrange(7200, 40 * 3600), customer, "email_opened", {}))
        if rng.random() < 0.3:
            calls.append((checkout + rng.randrange(1800, 5 * 86400), customer, "order_completed", {"revenue": rng.randrange(20, 200)}))
        if rng.random() < 0.25:
            calls.append((checkout + rng.randrange(86400, 2 * 86400), customer, "checkout_started", {"cart_value": 80, "cart_url": "x"}))
        if n % 11 == 5:
            calls.append((checkout + rng.randrange(1200, 3000), customer, "unsubscribed", {}))
    return sorted(calls, key=lambda call: call[0])


def live_summary(store: Store, customer: str) -> Summary:
    with store.read() as session:
        enrollments = sorted(session.enrollments_for(customer), key=lambda e: e.entered_at)
        deliveries = session.deliveries_for(customer)
        facts = session.facts_for(customer)
    summary: Summary = []
    for enrollment in enrollments:
        mine = [fact for fact in facts if fact.enrollment_id == enrollment.enrollment_id]
        reached = frozenset(fact.step_id for fact in mine if fact.kind == "reached" and fact.step_id)
        sends = {(d.step_id, d.visit): (d.channel, d.status) for d in deliveries if d.enrollment_id == enrollment.enrollment_id}
        converted = any(fact.kind == "goal" for fact in mine)
        summary.append((enrollment.status, enrollment.current_step, reached, sends, converted))
    return summary


async def test_a_backtest_of_the_abandoned_cart_matches_what_its_workflows_did_live(env: WorkflowEnvironment, tmp_path: Path) -> None:
    journey = compile_file(JOURNEYS / "abandoned_cart.yaml").journey
    assert journey is not None
    store = Store(f"sqlite:///{tmp_path / 'journey.db'}")
    store.migrate()
    queue = f"backtest-live-{uuid.uuid4()}"
    loop = asyncio.get_running_loop()
    router = Router(store, LoopGateway(env.client, loop, task_queue=queue, search_attributes=False), hash_secret=HASH_SECRET)
    calls = script()
    async with build_worker(env.client, store, hash_secret=HASH_SECRET, task_queue=queue, search_attributes=False):
        with env.auto_time_skipping_disabled():
            origin = await env.get_current_time()
            with store.session() as session:
                session.deploy(journey, origin)
            router.refresh_catalog()
            elapsed = 0.0
            for number, (offset, customer, name, payload) in enumerate(calls):
                if offset > elapsed:
                    await env.sleep(timedelta(seconds=offset - elapsed))
                    elapsed = offset
                now = await env.get_current_time()
                call: IdentifyCall | TrackCall = (
                    IdentifyCall(customer, payload, f"call-{number}", now, now)
                    if name == "identify"
                    else TrackCall(customer, name, payload, f"call-{number}", now, now)
                )
                await asyncio.to_thread(router.apply, [call])
            await env.sleep(timedelta(days=10))
            end = await env.get_current_time()
            await _until_none_running(store)

    window = Window(origin, end)
    customers = sorted({customer for _, customer, _, _ in calls})
    with store.read() as session:
        histories = {
            history.customer_id: history
            for history in read_histories(
                session, window, [journey.id], calls=replayed_calls(journey), sends_since=origin - timedelta(days=2), every_profile=False
            )
        }
    entered = 0
    for customer in customers:
        if customer not in histories:  # no call the journey reacts to
            assert live_summary(store, customer) == [], customer
            continue
        replayed = backtest_customer(journey, histories[customer], window, BacktestOptions())
        offline: Summary = [
            (
                entry.run.status,
                entry.run.step,
                frozenset(step for step, _ in entry.run.trail),
                {(send.step, send.visit): (send.channel, send.status) for send in entry.run.sends},
                entry.goal is not None,
            )
            for entry in replayed.entries
        ]
        assert offline == live_summary(store, customer), customer
        entered += len(offline)
    [report] = backtest(store, [journey], window)
    store.dispose()
    # The history is varied enough to mean something: entries and refusals, sends and suppressions, conversions, exits.
    assert report.totals.entered == entered >= 15
    assert {refusal.rule for refusal in report.refused} >= {"trigger", "audience", "re_entry"}
    assert report.totals.converted > 0 and report.totals.exited > 0
    assert report.sent > 0 and any(step.suppressed for step in report.steps)


async def _until_none_running(store: Store, seconds: float = 30) -> None:
    """The last activities finish in real time after the clock has moved on: wait for the index to say every enrollment ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with store.read() as session:
            customers = [f"shopper-{n:02d}" for n in range(CUSTOMERS)]
            running = [e for customer in customers for e in session.enrollments_for(customer, running_only=True)]
        if not running:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{len(running)} enrollments still running")
