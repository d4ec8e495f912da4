"""/console/journeys/{id}: every number is the stats API's for the same range, on the graph, the funnel, the splits and channels."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orchestrator import ir
from orchestrator.analytics.report_format import percent
from orchestrator.store import JourneyFact, Store
from tests.api.support import compiled
from tests.console.support import API_KEY, app_for, console_client, log_in, migrated_store, parsed

SORTER = """
id: sorter
name: Sorter
trigger: {event: signed_up}
goal: {event: ordered, within: 1d}
steps:
  - id: known
    branch:
      - when: "customer.vip | default(false)"
        next: test
      - else: bye
  - id: test
    split:
      paths:
        - {name: a, weight: 1, next: hello}
        - {name: b, weight: 1, next: hello}
      holdout: 1
  - id: hello
    send: {channel: email, subject: "Hi", body: "x"}
  - id: pause
    wait: 1h
  - id: bye
    send: {channel: sms, body: "Bye"}
"""
# enrollment: (days ago, way at `known`, arm at `test`, resting at pause, converted, suppressed sms)
RUNS = [
    ("e1", 0, "test", "a", True, False, False),
    ("e2", 0, "test", "a", False, True, False),
    ("e3", 2, "test", "b", True, False, False),
    ("e4", 2, "test", "holdout", False, False, False),
    ("e5", 3, "bye", None, False, False, True),
    ("e6", 3, "bye", None, False, True, False),
    ("e7", 9, "test", "b", False, True, False),
]


def facts_of(journey: ir.Journey, now: datetime) -> list[JourneyFact]:
    facts = []
    for enrollment, days_ago, way, arm, resting, converted, suppressed in RUNS:
        at = now - timedelta(days=days_ago, hours=5)
        base = {"journey_id": journey.id, "version": journey.version, "enrollment_id": enrollment, "customer_id": f"c-{enrollment}"}

        def fact(kind: str, key: str, minutes: int, **parts: Any) -> None:
            facts.append(JourneyFact(kind, fact_key=key, occurred_at=at + timedelta(minutes=minutes), **base, **parts))  # noqa: B023

        fact("entered", "entered", 0)
        fact("reached", "reached:known", 0, step_id="known")
        fact("branched", "branched:known", 0, step_id="known", name=way)
        if way == "bye":
            fact("reached", "reached:bye", 1, step_id="bye")
            status = "suppressed" if suppressed else "sent"
            fact("message", f"message:bye:1:{status}", 1, step_id="bye", visit=1, name="sms", status=status,
                 detail="no consent" if suppressed else None)  # fmt: skip
        else:
            fact("reached", "reached:test", 1, step_id="test", name=arm)
            if arm != "holdout":
                fact("reached", "reached:hello", 2, step_id="hello")
                fact("message", "message:hello:1:sent", 2, step_id="hello", visit=1, name="email", status="sent")
                fact("provider", "provider:hello:1:delivered", 3, step_id="hello", visit=1, name="email", status="delivered")
                fact("reached", "reached:pause", 2, step_id="pause")
                fact("rested", "rested:pause:1", 2, step_id="pause", visit=1)
        if converted:
            fact("goal", "goal", 30, name="ordered")
        if not resting:
            fact("ended", "ended", 90, status="converted" if converted else "completed")
    return facts


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = migrated_store(tmp_path)
    now = datetime.now(UTC)
    first = compiled(SORTER.replace('"Hi"', '"Hello"'))
    journey = compiled(SORTER)
    with opened.session() as session:
        session.deploy(first, now - timedelta(days=20))
        session.deploy(journey, now - timedelta(days=10))
        session.record_facts(facts_of(journey, now))
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    with console_client(app_for(store)) as opened:
        log_in(opened)
        yield opened


def stats(client: TestClient, query: str = "") -> dict[str, Any]:
    answer = client.get(f"/v1/journeys/sorter/stats{query}", headers={"Authorization": f"Bearer {API_KEY}"})
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


def region(html: str, testid: str, end: str) -> str:
    """The markup from the element with `testid` to the first `end` after it."""
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index(end, start)]


@pytest.mark.parametrize("query", ["", "?from={week_ago}", "?version=latest"])
def test_every_number_on_the_page_is_the_stats_apis_for_the_same_range(client: TestClient, store: Store, query: str) -> None:
    with store.read() as session:
        latest = session.deployed_journeys("sorter")[0].versions[-1].journey.version
    week_ago = (datetime.now(UTC).date() - timedelta(days=6)).isoformat()
    query = query.format(week_ago=week_ago).replace("latest", latest)
    html = client.get(f"/console/journeys/sorter{query}").text
    document = stats(client, query)
    page = parsed(html)
    for name, value in document["totals"].items():
        assert page.texts[f"total-{name}"] == [f"{value:,}"], name
    conversion = document["conversion"]
    assert page.texts["conversion-rate"] == [percent(conversion["rate"])]
    assert (page.texts["converted"][0], page.texts["matured"][0]) == (str(conversion["converted"]), str(conversion["matured"]))
    for step in document["steps"]:
        row = parsed(region(html, f"step-{step['step']}", "</tr>"))
        assert row.texts["reached"] == [str(step["reached"])] and row.texts["waiting"] == [str(step["waiting"])], step["step"]
        if step["kind"] == "send":
            assert (row.texts["sent"], row.texts["delivered"]) == ([str(step["sent"])], [str(step["delivered"])])
    (split,) = document["splits"]
    table = region(html, "split-test", "</table>")
    for arm in split["arms"]:
        row = parsed(region(table, f"arm-{arm['arm']}", "</tr>"))
        assert row.texts["assigned"] == [str(arm["assigned"])] and row.texts["rate"] == [percent(arm["rate"])], arm["arm"]
    assert split["verdict"] in html
    for channel in document["channels"]:
        row = parsed(region(html, f"channel-{channel['channel']}", "</tr>"))
        assert (row.texts["sent"], row.texts["delivered"]) == ([str(channel["sent"])], [str(channel["delivered"])])
    if not query:  # the facts above: so the comparisons mean something
        assert document["totals"]["entered"] == 7 and document["totals"]["waiting"] == 2
        assert [c["channel"] for c in document["channels"]] == ["email", "sms"]


def test_the_graph_numbers_each_step_and_the_arrows_where_the_journey_divides(client: TestClient) -> None:
    html = client.get("/console/journeys/sorter").text
    document = stats(client)
    graph = region(html, "journey-graph", "</figure>")
    drawn = re.findall(r'data-step="([^"]+)" data-reached="(\d+)" data-waiting="(\d+)"', graph)
    nodes = {step: (int(reached), int(waiting)) for step, reached, waiting in drawn}
    assert nodes == {step["step"]: (step["reached"], step["waiting"]) for step in document["steps"]}
    edges = sorted((edge, int(count)) for edge, count in re.findall(r'data-edge="([^"]+)" data-count="(\d+)"', graph.replace("&gt;", ">")))
    (split,) = document["splits"]
    assigned = {arm["arm"]: arm["assigned"] for arm in split["arms"]}
    ways = next(step["ways"] for step in document["steps"] if step["step"] == "known")
    assert ways == {"bye": 2, "test": 5}
    # Both arms lead to `hello`, each arrow with its own arm's count; the holdout's ends the journey.
    expected = [("known->bye", ways["bye"]), ("known->test", ways["test"]), ("test->end", assigned["holdout"]),
                ("test->hello", assigned["a"]), ("test->hello", assigned["b"])]  # fmt: skip
    assert edges == sorted(expected)


def test_the_live_part_refreshes_itself_and_carries_the_range(client: TestClient) -> None:
    html = client.get("/console/journeys/sorter?from=2026-01-01").text
    live = re.search(r'<div id="live" hx-get="([^"]+)"\s+hx-trigger="every (\d+)s"', html)
    assert live and live.group(1).replace("&amp;", "&") == "/console/journeys/sorter/live?from=2026-01-01"
    fragment = client.get(live.group(1).replace("&amp;", "&"))
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith("{#") is False
    assert 'data-testid="journey-graph"' in fragment.text and 'data-testid="funnel"' in fragment.text
    assert "<html" not in fragment.text  # a fragment, swapped into the page


def test_a_range_that_cannot_be_read_says_which_field_and_an_unknown_journey_is_404(client: TestClient) -> None:
    bad = client.get("/console/journeys/sorter?from=2026-13-01")
    assert bad.status_code == 422 and "from" in parsed(bad.text).texts["range-problem"][0]
    backwards = client.get("/console/journeys/sorter?from=2026-03-02&to=2026-03-01")
    assert backwards.status_code == 422 and "after" in backwards.text
    unknown = client.get("/console/journeys/nope")
    assert unknown.status_code == 404 and "journey deploy" in unknown.text


def test_versions_are_listed_newest_first_with_what_changed(client: TestClient, store: Store) -> None:
    html = client.get("/console/journeys/sorter").text
    with store.read() as session:
        versions = [v.journey.version for v in session.deployed_journeys("sorter")[0].versions]
    listed = re.findall(r'<li data-version="([^"]+)"', region(html, "versions", "</ol>"))
    assert listed == list(reversed(versions))
    newest = region(html, "versions", "</ol>").split(f'data-version="{versions[0]}"')[0]
    assert "subject" in newest and "Hello" in newest and "Hi" in newest
