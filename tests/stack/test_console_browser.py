"""Issue 23's browser tests: the console of a real `journey dev`, in headless Chromium, shows what the API says.

One stack for the module, started with JOURNEY_API_KEYS so that its console asks for a login (the key is the
password). Customers are identified and tracked through the API: pro customers go one way of the branch and
wait, the others are split into two groups and a holdout, some convert. Once the facts say so, the Journeys
page, the journey page and a customer's page are opened at laptop and phone width and compared with
`GET /v1/journeys`, `GET /v1/journeys/{id}/stats` and `GET /v1/customers/{id}/deliveries`: every number on
the graph, on its arrows, in the funnel and the split table, and the timeline's messages. A broadcast to one of
them, saved in the stack's folder to fire a few seconds later, shows its run on its open journey page, without
a reload, as `GET /v1/journeys/{id}/broadcasts` counts it.

Screenshots of the pages land in the test's tmp dir, and in JOURNEY_SCREENSHOTS when it names a folder
(`JOURNEY_SCREENSHOTS=docs/images` refreshes the README's). Without a local chromium every test skips
(tests/browser.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrator import ir
from orchestrator.compiler import compile_text
from orchestrator.runtime.split import assign_split
from tests.browser import LAPTOP, PHONE, PageProblems, browser  # noqa: F401 (the fixture)
from tests.stack.console_pages import (
    broadcast_runs_of,
    funnel_of,
    graph_of,
    journey_row_of,
    reachable_by_tab,
    save_screenshot,
    scrolls_sideways,
    split_of,
    text_of,
    timeline_messages,
)
from tests.stack.devstack_process import DevStack

KEY = "console-browser-test-key-0123456789abcdef"
TOUR = """\
id: welcome_tour
name: Welcome tour
trigger: {event: signed_up}
goal: {event: order_completed, within: 1h, value: "event.total"}
steps:
  - id: by_plan
    branch:
      - when: "event.plan == 'pro'"
        next: pro_welcome
      - else: subject_test
  - id: pro_welcome
    send: {channel: email, subject: "Your Pro tools are ready", body: "<h1>Welcome to Pro</h1><p>Start with the reports.</p>"}
  - id: settle_in
    wait: 1h
    next: end
  - id: subject_test
    split:
      paths:
        - {name: a, weight: 40, next: welcome_a}
        - {name: b, weight: 40, next: welcome_b}
      holdout: 20
  - id: welcome_a
    send: {channel: email, subject: "Welcome aboard", body: "<p>Here is what to try first.</p>"}
    next: end
  - id: welcome_b
    send: {channel: email, subject: "What will you build first?", body: "<p>Tell us, we will help.</p>"}
"""
JOURNEY = "welcome_tour"
PRO = ["pro-ann", "pro-bob", "pro-cy"]
FREE = [f"free-{n:02d}" for n in range(13)]  # 5 in a, 6 in b, 2 in the holdout
BUYERS = {"pro-ann": 120.0, "free-00": 35.0, "free-03": 18.5, "free-10": 12.0}
"""Who converts, and for how much."""
LATE_BUYER = "pro-bob"
"""Converts while the journey page is open: the live region shows one fewer waiting."""
SHOWN = "pro-cy"
"""The customer whose page is opened."""
STEPS = ["by_plan", "pro_welcome", "settle_in", "subject_test", "welcome_a", "welcome_b"]
BROADCAST = "pro_note"
FIRES_AFTER = timedelta(seconds=6)
"""From the file's save: time for `journey dev` to see it (a poll a second, once the folder is still), deploy its
schedule, and for the test to open its page before it fires."""


def pro_note(at: datetime) -> str:
    """A broadcast, once at `at`, to one customer (not SHOWN, whose timeline the test reads)."""
    return f"""\
id: {BROADCAST}
name: A note for Ann
trigger:
  schedule: {{at: "{at:%Y-%m-%dT%H:%M:%S}", timezone: UTC}}
entry: {{audience: "customer.first_name == 'Ann'"}}
steps:
  - id: note
    send: {{channel: email, subject: "A note for you", body: "<p>Thanks for going Pro.</p>"}}
"""


def api(path: str, payload: dict[str, Any] | None = None, *, url: str) -> Any:
    headers = {"Authorization": f"Bearer {KEY}"}
    if payload is None:
        answer = httpx.get(url + path, headers=headers, timeout=30)
    else:
        answer = httpx.post(url + path, json=payload, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def groups() -> dict[str, str]:
    """Each free customer's group of the split, by the product's own assignment."""
    compiled = compile_text(TOUR, file=f"{JOURNEY}.yaml", directory=Path("."))
    assert compiled.journey is not None, compiled.diagnostics
    split = compiled.journey.step("subject_test")
    assert isinstance(split, ir.SplitStep)
    return {customer: assign_split(customer, JOURNEY, split) for customer in FREE}


def settled(stats: dict[str, Any]) -> bool:
    """Every enrollment is where it will rest: each email sent, the pro customers who did not buy waiting, the buyers counted."""
    steps = {step["step"]: step for step in stats["steps"]}
    emailed = len(PRO) + sum(group != "holdout" for group in groups().values())
    return (
        stats["totals"]["entered"] == len(PRO) + len(FREE)
        and sum(steps[s]["sent"] for s in ("pro_welcome", "welcome_a", "welcome_b")) == emailed
        and steps["settle_in"]["waiting"] == len([c for c in PRO if c not in BUYERS])
        and stats["totals"]["converted"] == len(BUYERS)
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    root = tmp_path_factory.mktemp("console")
    (root / "journeys").mkdir()
    (root / "journeys" / f"{JOURNEY}.yaml").write_text(TOUR)
    started = DevStack(root / "journeys", root / ".journey", env={"JOURNEY_API_KEYS": KEY})
    try:
        started.start()
        for customer in PRO + FREE:
            traits = {"email": f"{customer}@example.com", "first_name": customer.split("-")[1].capitalize()}
            api("/v1/identify", {"userId": customer, "traits": traits}, url=started.url)
            api("/v1/track", {"userId": customer, "event": "signed_up", "messageId": f"up-{customer}",
                              "properties": {"plan": "pro" if customer in PRO else "free"}}, url=started.url)  # fmt: skip
        for customer, total in BUYERS.items():
            api("/v1/track", {"userId": customer, "event": "order_completed", "messageId": f"order-{customer}",
                              "properties": {"total": total}}, url=started.url)  # fmt: skip
        wait_for_stats(started, settled)
        yield started
    finally:
        started.close()


def wait_for_stats(stack: DevStack, predicate: Any, query: str = "", timeout: float = 45.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    stats: dict[str, Any] = {}
    while time.monotonic() < deadline:
        stats = api(f"/v1/journeys/{JOURNEY}/stats{query}", url=stack.url)
        if predicate(stats):
            return stats
        time.sleep(0.2)
    raise AssertionError(f"the stats never settled: {stats}")


def broadcast_runs(stack: DevStack) -> list[dict[str, Any]] | None:
    """`GET /v1/journeys/{BROADCAST}/broadcasts`'s runs; None while the journey is not deployed."""
    answer = httpx.get(f"{stack.url}/v1/journeys/{BROADCAST}/broadcasts", headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    runs: list[dict[str, Any]] = answer.json()["broadcasts"]
    return runs


def save_broadcast(stack: DevStack) -> datetime:
    """Save the broadcast's file in the running stack's folder, which `journey dev` deploys on its own; when it fires."""
    fires_at = datetime.now(UTC).replace(microsecond=0) + FIRES_AFTER
    (stack.folder / f"{BROADCAST}.yaml").write_text(pro_note(fires_at))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if broadcast_runs(stack) is not None:
            return fires_at
        time.sleep(0.2)
    raise AssertionError(f"journey dev never deployed {BROADCAST}:\n{stack.text}")


def wait_for_broadcast(stack: DevStack, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The broadcast's runs once its one run has finished (sent to its one customer)."""
    deadline = time.monotonic() + timeout
    runs: list[dict[str, Any]] | None = []
    while time.monotonic() < deadline:
        runs = broadcast_runs(stack)
        if [(run["state"], run["enrolled"]) for run in runs or []] == [("finished", 1)]:
            return runs or []
        time.sleep(0.2)
    raise AssertionError(f"the broadcast never finished: {runs}")


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Where screenshots go: the test's tmp dir, and JOURNEY_SCREENSHOTS when it is set."""
    extra = os.environ.get("JOURNEY_SCREENSHOTS")
    return [tmp_path_factory.mktemp("screenshots"), *([Path(extra)] if extra else [])]


@pytest.fixture(scope="module")
def signed_in(browser: Any, stack: DevStack) -> Iterator[Any]:  # noqa: F811 (the fixture)
    """A browser context logged in to the stack's console with the API key."""
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.goto(stack.url + "/console/login")
    page.fill("#password", KEY)
    page.click("button[type=submit].primary")
    page.wait_for_url(stack.url + "/console")
    page.close()
    try:
        yield context
    finally:
        context.close()


def open_page(context: Any, url: str, problems: PageProblems, viewport: dict[str, int] = LAPTOP) -> Any:
    page = problems.watch(context.new_page())
    page.set_viewport_size(viewport)
    answer = page.goto(url)
    assert answer is not None and answer.status == 200, url
    return page


def graph_from(stats: dict[str, Any]) -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
    """What the graph must show: each step's reached and waiting, each split group and branch way on its arrow."""
    steps = {step["step"]: (step["reached"], step["waiting"]) for step in stats["steps"]}
    edges = {f"by_plan->{target}": n for target, n in next(s for s in stats["steps"] if s["step"] == "by_plan")["ways"].items()}
    (split,) = stats["splits"]
    arm_targets = {"a": "welcome_a", "b": "welcome_b", "holdout": "end"}
    edges |= {f"subject_test->{arm_targets[arm['arm']]}": arm["assigned"] for arm in split["arms"]}
    return steps, edges


def test_the_pages_show_the_numbers_the_api_answers(signed_in: Any, stack: DevStack, screenshots: list[Path]) -> None:
    stats = api(f"/v1/journeys/{JOURNEY}/stats", url=stack.url)
    listed = {journey["id"]: journey for journey in api("/v1/journeys", url=stack.url)["journeys"]}[JOURNEY]
    steps = {step["step"]: step for step in stats["steps"]}
    # The scenario did what it says: both ways of the branch, every group of the split, conversions and waiting.
    assert steps["by_plan"]["ways"] == {"pro_welcome": len(PRO), "subject_test": len(FREE)}
    assert {arm["arm"] for arm in stats["splits"][0]["arms"]} == {"a", "b", "holdout"}
    assert stats["totals"]["converted"] == len(BUYERS) and steps["settle_in"]["waiting"] == len(PRO) - 1
    problems = PageProblems()

    journeys = open_page(signed_in, stack.url + "/console", problems)
    row = journey_row_of(journeys, JOURNEY)
    assert (row["version"], row["waiting"]) == (listed["active_version"], str(listed["waiting"]))
    assert row["entered-7d"] == str(stats["totals"]["entered"])
    assert (row["converted"], row["matured"]) == (str(stats["conversion"]["converted"]), str(stats["conversion"]["matured"]))
    assert row["entered-today"] == str(stats["totals"]["entered"])  # everyone signed up a moment ago
    save_screenshot(journeys, "console-journeys", screenshots)

    journey = open_page(signed_in, f"{stack.url}/console/journeys/{JOURNEY}", problems)
    for name, value in stats["totals"].items():
        assert int(text_of(journey, f"[data-testid=total-{name}]").replace(",", "")) == value, name
    assert journey.get_attribute("[data-testid=conversion-rate]", "data-value") == str(stats["conversion"]["rate"])
    assert graph_of(journey) == graph_from(stats)
    shown = funnel_of(journey, STEPS)
    for step in STEPS:
        expected = {name: steps[step][name] for name in shown[step]}
        assert shown[step] == expected and {"reached", "waiting"} <= set(shown[step]), step
    assert set(shown["welcome_a"]) >= {"sent", "delivered", "opened", "clicked"}
    (split,) = stats["splits"]
    verdict, arms = split_of(journey, "subject_test")
    assert verdict.split() == f"{split['verdict']} {split.get('explanation') or ''}".split()  # the same words
    assert arms == {arm["arm"]: (arm["assigned"], arm["matured"], arm["converted"]) for arm in split["arms"]}
    save_screenshot(journey, "console-journey", screenshots)

    # The same range on both sides: today only.
    today = datetime.now(UTC).date().isoformat()
    ranged = api(f"/v1/journeys/{JOURNEY}/stats?from={today}&to={today}", url=stack.url)
    journey.goto(f"{stack.url}/console/journeys/{JOURNEY}?from={today}&to={today}")
    assert graph_of(journey) == graph_from(ranged)
    assert int(text_of(journey, "[data-testid=total-entered]")) == ranged["totals"]["entered"]

    customer = open_page(signed_in, f"{stack.url}/console/customers/{SHOWN}", problems)
    deliveries = api(f"/v1/customers/{SHOWN}/deliveries", url=stack.url)["deliveries"]
    assert deliveries, "the customer was sent something"
    timeline = timeline_messages(customer)
    assert sorted((m["journey"], m["step"], m["status"]) for m in timeline) == sorted(
        (d["journey"], d["step"], d["status"]) for d in deliveries
    )
    assert text_of(customer, "[data-testid=customer-id]") == SHOWN
    assert customer.locator("[data-testid=message-preview] iframe[sandbox]").count() == len(deliveries)
    # The e-mail as the customer got it, its own inline styles applied (the unsubscribe footer's small print).
    customer.locator("[data-testid=message-preview] iframe").first.scroll_into_view_if_needed()
    preview = customer.frame_locator("[data-testid=message-preview] iframe").first
    assert preview.locator("h1").inner_text() == "Welcome to Pro"
    assert preview.locator("p[style]").evaluate("p => getComputedStyle(p).fontSize") == "12px"
    save_screenshot(customer, "console-customer", screenshots)
    assert problems.messages == []


def test_a_phone_shows_every_page_without_scrolling_sideways(signed_in: Any, stack: DevStack, screenshots: list[Path]) -> None:
    problems = PageProblems()
    for path in ("/console", f"/console/journeys/{JOURNEY}", f"/console/customers/{SHOWN}", "/console/customers"):
        page = open_page(signed_in, stack.url + path, problems, PHONE)
        assert not scrolls_sideways(page), f"{path} is wider than a phone"
        if path.startswith("/console/journeys/"):
            assert graph_of(page)[0], "the graph is drawn on a phone too"
            save_screenshot(page, "console-journey-phone", screenshots)
        page.close()
    assert problems.messages == []


def test_the_keyboard_reaches_every_link_and_button_of_the_journey_page(signed_in: Any, stack: DevStack) -> None:
    problems = PageProblems()
    page = open_page(signed_in, f"{stack.url}/console/journeys/{JOURNEY}", problems)
    wanted, reached = reachable_by_tab(page, presses=80)
    targets = [name.split()[1] for name in wanted if len(name.split()) > 1]
    assert sorted(t for t in targets if t.startswith("#step-")) == sorted(f"#step-{step}" for step in STEPS)  # the graph's steps
    assert {"from", "to", "version"} <= set(targets)  # the range form
    assert sorted(set(wanted) - set(reached)) == []  # each got the focus, with its outline
    assert problems.messages == []


def test_the_waiting_counts_and_a_broadcasts_runs_refresh_on_their_own(signed_in: Any, stack: DevStack) -> None:
    fires_at = save_broadcast(stack)
    problems = PageProblems()
    page = open_page(signed_in, f"{stack.url}/console/journeys/{JOURNEY}", problems)
    page.evaluate("window.notReloaded = true")
    broadcast = open_page(signed_in, f"{stack.url}/console/journeys/{BROADCAST}", problems)
    assert broadcast.locator("[data-testid=broadcast-runs-empty]").count() == 1, "not broadcast yet"
    assert datetime.now(UTC) < fires_at, "the broadcast fired before its page was open: make FIRES_AFTER longer"
    before = int(page.get_attribute("[data-step=settle_in]", "data-waiting"))
    late_order = {"userId": LATE_BUYER, "event": "order_completed", "messageId": "order-late", "properties": {"total": 9.0}}
    api("/v1/track", late_order, url=stack.url)
    # The page asks for its live part every 15 s (journey_page.LIVE_SECONDS): one refresh, with room to spare.
    page.wait_for_selector(f"[data-step=settle_in][data-waiting='{before - 1}']", state="attached", timeout=25_000)
    assert page.evaluate("window.notReloaded") is True
    stats = api(f"/v1/journeys/{JOURNEY}/stats", url=stack.url)
    assert graph_of(page) == graph_from(stats)
    # The broadcast fired a few seconds after its page opened: its next refresh shows the run, as the API counts it.
    broadcast.wait_for_selector("[data-testid=broadcast-runs] [data-testid=state]:text-is('finished')", state="attached", timeout=25_000)
    runs = wait_for_broadcast(stack)
    fields = ("started_at", "state", "pages", "enrolled", "sent", "suppressed", "failed", "remaining", "profiles_to_read")
    assert broadcast_runs_of(broadcast) == {run["run_id"]: {name: run[name] for name in fields} for run in runs}
    assert "journey broadcast cancel RUN" in text_of(broadcast, "[aria-labelledby=broadcasts-heading]")
    broadcast.set_viewport_size(PHONE)
    assert not scrolls_sideways(broadcast), "the runs table scrolls in its own box on a phone"
    assert problems.messages == []


def test_the_console_asks_for_a_login_and_keeps_customers_out_of_the_cache(browser: Any, stack: DevStack) -> None:  # noqa: F811
    context = browser.new_context(viewport=LAPTOP)
    problems = PageProblems()
    page = problems.watch(context.new_page())
    page.goto(stack.url + "/console")
    assert page.url.startswith(stack.url + "/console/login")

    page.fill("#password", "not-the-key")
    page.click("button[type=submit].primary")
    assert "not right" in text_of(page, "[data-testid=login-error]")
    assert not [cookie for cookie in context.cookies() if cookie["name"] == "journey_console"]

    page.fill("#password", KEY)
    page.click("button[type=submit].primary")
    page.wait_for_url(stack.url + "/console")
    (cookie,) = [cookie for cookie in context.cookies() if cookie["name"] == "journey_console"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script reads it

    answer = page.goto(f"{stack.url}/console/customers/{SHOWN}")
    assert answer is not None and answer.status == 200 and answer.headers["cache-control"] == "no-store"

    assert page.locator("form.logout input[name=csrf_token]").get_attribute("value")
    page.click("form.logout button")
    page.wait_for_url(f"{stack.url}/console/login**")
    page.goto(stack.url + "/console")
    assert page.url.startswith(stack.url + "/console/login")
    # The refused password's page is a 401, which Chromium logs as a resource that failed to load; nothing else.
    assert [message for message in problems.messages if "status of 401" not in message] == []
    context.close()
