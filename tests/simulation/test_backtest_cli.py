"""`journey backtest` as a user runs it: the report in each format, the comparison, the errors, the opt-in sample."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from orchestrator.cli import main
from orchestrator.compiler import compile_file
from orchestrator.store import Store

JOURNEYS = Path(__file__).resolve().parents[2] / "journeys"
CART = JOURNEYS / "abandoned_cart.yaml"
MONDAY = datetime(2026, 3, 2, 14, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'journey.db'}")
    store.migrate()
    with store.session() as session:
        for n, country in enumerate(["US", "US", "FR"]):
            traits = {"email": f"shopper{n}@example.com", "country": country, "first_name": f"S{n}"}
            session.record_event(f"i{n}", f"shopper-{n}", "identify", traits, MONDAY, MONDAY)
            session.identify(f"shopper-{n}", traits, MONDAY)
            at = MONDAY + timedelta(hours=1)
            session.record_event(f"t{n}", f"shopper-{n}", "checkout_started", {"cart_value": 50, "cart_url": "https://s/c"}, at, at)
    yield store
    store.dispose()


def backtest(store: Store, *args: str) -> Result:
    return CliRunner().invoke(main, ["backtest", *args], env={"DATABASE_URL": store.url})


def test_the_report_in_text_markdown_and_json(store: Store) -> None:
    window = ["--from", "2026-03-01", "--to", "2026-03-20"]
    text = backtest(store, str(CART), *window)
    markdown = backtest(store, str(CART), *window, "--format", "markdown")
    document = backtest(store, str(CART), *window, "--format", "json")
    assert text.exit_code == markdown.exit_code == document.exit_code == 0, text.output + markdown.output + document.output
    assert "entered 2 (2 customers)" in text.output and "refused 1: audience: not in the audience 1" in text.output
    assert "reminder      email     2" in text.output
    assert markdown.output.startswith("### Backtest of `abandoned_cart`") and "| `reminder` | email | 2 |" in markdown.output
    report = json.loads(document.output)
    assert (report["journey"], report["from"], report["customers"]) == ("abandoned_cart", "2026-03-01T00:00:00+00:00", 3)
    assert report["refused"] == [{"rule": "audience", "reason": "not in the audience", "count": 1}]
    assert report["samples"] == []
    assert "shopper" not in text.output + markdown.output + document.output  # no customer unless asked


def test_a_sample_shows_a_customers_timeline_only_when_asked(store: Store) -> None:
    shown = backtest(store, str(CART), "--from", "2026-03-01", "--to", "2026-03-20", "--sample", "1")
    assert shown.exit_code == 0, shown.output
    assert shown.output.count("Sample: customer shopper-") == 1
    assert "email to shopper" in shown.output and "step     wait_an_hour" in shown.output


def test_compare_shows_both_journeys_side_by_side_with_their_differences(store: Store, tmp_path: Path) -> None:
    shutil.copytree(JOURNEYS / "templates", tmp_path / "templates")
    longer = tmp_path / "longer.yaml"
    longer.write_text(CART.read_text().replace("wait: 1h", "wait: 30d"))
    with store.session() as session:
        journey = compile_file(CART).journey
        assert journey is not None
        session.deploy(journey, MONDAY - timedelta(days=9))
    compared = backtest(store, str(longer), "--from", "2026-03-01", "--to", "2026-03-20", "--compare", "deployed", "--format", "json")
    assert compared.exit_code == 0, compared.output
    document = json.loads(compared.output)
    assert (document["journey"]["label"], document["other"]["label"]) == ("longer.yaml", "deployed")
    assert document["differences"]["totals"]["messages sent"] == -2  # the reminder comes after the window's end
    reminder = next(step for step in document["differences"]["steps"] if step["step"] == "reminder")
    assert reminder == {"step": "reminder", "side": "both", "reached": [0, 2], "sent": [0, 2], "suppressed": [0, 0], "held": [0, 0]}


def test_mistakes_are_named_with_the_option_or_the_line_at_fault(store: Store, tmp_path: Path) -> None:
    empty = backtest(store, str(CART), "--from", "2026-03-05", "--to", "2026-03-01")
    assert empty.exit_code == 2 and "--from 2026-03-05 is not before --to 2026-03-01" in empty.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(CART.read_text().replace("wait: 1h", "wait: soon"))
    refused = backtest(store, str(broken), "--to", "2026-03-20")
    assert refused.exit_code == 1 and f"{broken}:" in refused.output and "soon" in refused.output
    never = backtest(store, str(CART), "--compare", "deployed")
    assert never.exit_code == 1 and "journey 'abandoned_cart' has never been deployed" in never.output
