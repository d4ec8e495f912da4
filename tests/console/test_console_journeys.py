"""/console, the Journeys page: every number is the one read_journey_list / read_journey_stats give; sorting; empty state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from orchestrator import ir
from orchestrator.console.access import ConsoleSettings
from orchestrator.store import Store
from orchestrator.store.journey_stats import StatsRequest, read_journey_list, read_journey_stats
from tests.console.support import app_for, console_client, deploy_with_facts, log_in, migrated_store, parsed


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = migrated_store(tmp_path)
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.fixture
def journeys(store: Store) -> list[ir.Journey]:
    return deploy_with_facts(store, datetime.now(UTC))


@pytest.fixture
def client(store: Store, journeys: list[ir.Journey]) -> Iterator[TestClient]:
    console = ConsoleSettings(repo_url="https://github.com/shop/journeys/blob/main/journeys/")
    with console_client(app_for(store, console=console)) as opened:
        log_in(opened)
        yield opened


def test_every_number_on_the_page_is_the_one_the_stats_functions_give(client: TestClient, store: Store) -> None:
    page = parsed(client.get("/console").text)
    now = datetime.now(UTC)
    today = now.date()
    for summary in read_journey_list(store, now):
        row = page.rows[summary.journey_id]
        all_time = read_journey_stats(store, StatsRequest(summary.journey_id), now)
        week = read_journey_stats(store, StatsRequest(summary.journey_id, today - timedelta(days=6), today), now)
        one_day = read_journey_stats(store, StatsRequest(summary.journey_id, today, today), now)
        assert row["waiting"] == str(summary.waiting)
        assert row["entered-7d"] == str(week.totals.entered)
        assert row["entered-today"] == str(one_day.totals.entered)
        assert row["converted"] == str(all_time.conversion.converted)
        assert row["matured"] == str(all_time.conversion.matured)
        expected_rate = "\u2013" if all_time.conversion.rate is None else f"{all_time.conversion.rate * 100:.1f} %"
        assert row["conversion-rate"] == expected_rate
        assert row["version"] == summary.active_version
        assert row["deployed-at"] == summary.deployed_at.strftime("%Y-%m-%d %H:%M")
    # The facts of support.py: not zeros everywhere, so the comparison above means something.
    cart = page.rows["cart"]
    assert (cart["entered-today"], cart["entered-7d"], cart["waiting"]) == ("2", "4", "2")
    assert (cart["converted"], cart["matured"], cart["conversion-rate"]) == ("2", "4", "50.0 %")


def test_the_daily_entries_list_the_last_30_days_of_the_report(client: TestClient, store: Store) -> None:
    html = client.get("/console").text
    now = datetime.now(UTC)
    report = read_journey_stats(store, StatsRequest("cart", now.date() - timedelta(days=29), now.date()), now)
    cart_row = html[html.index('data-journey="cart"') :]
    figure = cart_row[cart_row.index('data-testid="daily-entries"') : cart_row.index("</figure>")]
    shown = {day: int(count) for day, count in _day_cells(figure)}
    assert len(shown) == 30 and max(shown) == now.date().isoformat()
    for day in report.daily:
        assert shown[day.day.isoformat()] == day.entered
    assert sum(shown.values()) == report.totals.entered == 5  # the entry 40 days ago is outside
    # The bars are drawn too, and say the same in words.
    assert 'class="sparkline"' in figure and 'aria-label="entries per day, 30 days, total 5' in figure


def _day_cells(html: str) -> list[tuple[str, str]]:
    import re

    return re.findall(r'<td data-day="([0-9-]+)">(\d+)</td>', html)


def test_each_row_says_its_trigger_links_to_its_page_and_to_its_yaml(client: TestClient) -> None:
    page = parsed(client.get("/console").text)
    assert page.rows["cart"]["trigger"] == "event checkout_started"
    assert page.rows["vip"]["trigger"] == "segment customer.vip == true"
    links = [found["href"] for found in page.attributes["journey-link"]]
    assert links == ["/console/journeys/cart", "/console/journeys/vip"]
    yaml = [found["href"] for found in page.attributes["yaml-link"]]
    assert yaml == ["https://github.com/shop/journeys/blob/main/journeys/cart.yaml", "https://github.com/shop/journeys/blob/main/journeys/vip.yaml"]


def test_no_yaml_link_without_a_repository_url(store: Store, journeys: list[ir.Journey]) -> None:
    with console_client(app_for(store)) as client:
        log_in(client)
        page = parsed(client.get("/console").text)
    assert "yaml-link" not in page.attributes and set(page.rows) == {"cart", "vip"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["cart", "vip"]),
        ("?sort=name&order=desc", ["vip", "cart"]),
        ("?sort=entered_7d&order=desc", ["cart", "vip"]),
        ("?sort=entered_7d&order=asc", ["vip", "cart"]),
        ("?sort=waiting&order=asc", ["vip", "cart"]),
        ("?sort=deployed_at&order=desc", ["vip", "cart"]),
        ("?sort=conversion&order=desc", ["cart", "vip"]),
        ("?sort=nonsense&order=sideways", ["cart", "vip"]),  # unknown: by name, ascending
    ],
)
def test_the_table_sorts_by_the_column_asked_for(client: TestClient, query: str, expected: list[str]) -> None:
    page = parsed(client.get(f"/console{query}").text)
    assert list(page.rows) == expected


def test_the_sorted_column_links_to_the_other_order(client: TestClient) -> None:
    page = parsed(client.get("/console?sort=entered_7d&order=desc").text)
    (link,) = page.attributes["sort-entered_7d"]
    assert link["href"] == "/console?sort=entered_7d&order=asc" and link["aria-current"] == "true"
    (other,) = page.attributes["sort-waiting"]
    assert other["href"] == "/console?sort=waiting&order=desc"  # a count: largest first


def test_with_nothing_deployed_the_page_says_how_to_deploy(store: Store) -> None:
    with console_client(app_for(store)) as client:
        log_in(client)
        answer = client.get("/console")
    assert answer.status_code == 200
    page = parsed(answer.text)
    assert "journeys-table" not in page.texts
    (empty,) = page.texts["journeys-empty"]
    assert "journey deploy journeys/" in empty and "make run" in empty
