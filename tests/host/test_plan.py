"""`journey plan`: what deploying a folder would change, and where the customers inside its running versions wait."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from orchestrator.cli import main
from orchestrator.store import JourneyFact, Store
from tests.api.support import compiled
from tests.keys import HASH_SECRET

CART = """
id: cart
name: Cart reminder
trigger: {event: checkout_started}
steps:
  - id: wait_a_bit
    wait: 1h
  - id: remind
    send: {channel: email, subject: "Your cart", body: "<p>Still there.</p>"}
  - id: last_call
    wait: 1d
  - id: nudge
    send: {channel: email, subject: "Last call", body: "<p>Going, going.</p>"}
"""
CART_NEXT = """
id: cart
name: Cart reminder
trigger: {event: checkout_started}
steps:
  - id: wait_a_bit
    wait: 2h
  - id: remind
    send: {channel: email, subject: "Your cart is waiting", body: "<p>Still there.</p>"}
"""
VIP = """
id: vip
name: VIP welcome
trigger: {event: became_vip}
steps:
  - id: hello
    send: {channel: email, subject: "Hello", body: "<p>Welcome.</p>"}
"""
WINBACK = """
id: winback
name: Win back
trigger: {event: churned}
steps:
  - id: sorry
    send: {channel: email, subject: "We miss you", body: "<p>Come back.</p>"}
"""


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'journey.db'}", HASH_SECRET)
    store.migrate()
    now = datetime.now(UTC)
    cart, vip = compiled(CART), compiled(VIP)
    with store.session() as session:
        session.deploy(cart, now - timedelta(days=3))
        session.deploy(vip, now - timedelta(days=3))
        facts = []
        # Three cart enrollments wait at wait_a_bit, two at last_call (a step the new version drops), one has ended.
        for n, (step, ended) in enumerate([("wait_a_bit", False)] * 3 + [("last_call", False)] * 2 + [("remind", True)]):
            base = {"journey_id": "cart", "version": cart.version, "enrollment_id": f"e{n}", "customer_id": f"c{n}"}
            at = now - timedelta(hours=5)
            facts.append(JourneyFact("entered", fact_key="entered", occurred_at=at, **base))
            facts.append(JourneyFact("rested", fact_key=f"rested:{step}:1", occurred_at=at, step_id=step, visit=1, **base))
            if ended:
                facts.append(JourneyFact("ended", fact_key="ended", occurred_at=at + timedelta(hours=1), status="completed", **base))
        session.record_facts(facts)
    yield store
    store.dispose()


def plan(store: Store, folder: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["plan", str(folder), *args], env={"DATABASE_URL": store.url})


def folder(tmp_path: Path, *journeys: str) -> Path:
    where = tmp_path / "journeys"
    where.mkdir()
    for text in journeys:
        (where / f"{compiled(text).id}.yaml").write_text(text, encoding="utf-8")
    return where


def test_a_changed_journey_says_what_changed_and_where_its_running_customers_wait(store: Store, tmp_path: Path) -> None:
    printed = plan(store, folder(tmp_path, CART_NEXT, WINBACK), "--format", "json")
    assert printed.exit_code == 0, printed.output
    journeys = {journey["journey"]: journey for journey in json.loads(printed.output)["journeys"]}
    assert {name: journey["change"] for name, journey in journeys.items()} == {"cart": "changed", "winback": "new", "vip": "stopped"}
    cart = journeys["cart"]
    assert (cart["deployed_version"], cart["new_version"]) == (compiled(CART).version, compiled(CART_NEXT).version)
    changes = " ".join(cart["changes"])
    assert "wait_a_bit" in changes and "1h" in changes and "2h" in changes and "Your cart is waiting" in changes
    assert "last_call" in changes and "nudge" in changes  # removed steps
    (running,) = cart["running"]
    assert running["running"] == 5
    assert running["waiting"] == [
        {"step": "wait_a_bit", "waiting": 3, "in_new_version": True},
        {"step": "last_call", "waiting": 2, "in_new_version": False},
    ]
    new_version = compiled(CART_NEXT).version
    assert cart["outcome"] == f"New entries get version {new_version}; 5 running enrollments finish on the version they started."
    assert journeys["vip"]["running"] == [] and journeys["vip"]["outcome"].startswith("With --prune it takes no new enrollments")


def test_text_and_markdown_read_as_a_pull_request_comment(store: Store, tmp_path: Path) -> None:
    journeys = folder(tmp_path, CART_NEXT, VIP)
    text = plan(store, journeys)
    markdown = plan(store, journeys, "--format", "markdown")
    assert text.exit_code == markdown.exit_code == 0, text.output + markdown.output
    assert "changed: cart (Cart reminder)" in text.output
    assert "waiting at wait_a_bit 3, last_call 2 (not in the new version)" in text.output
    assert "Unchanged: vip." in text.output
    assert markdown.output.startswith("## What this deploy changes")
    assert "### changed: `cart` (Cart reminder)" in markdown.output
    assert "waiting at `wait_a_bit` 3, `last_call` 2 (not in the new version)" in markdown.output


def test_nothing_to_change_says_so_and_a_folder_with_errors_has_no_plan(store: Store, tmp_path: Path) -> None:
    same = plan(store, folder(tmp_path, CART, VIP))
    assert same.exit_code == 0 and "Nothing: every journey in the folder is deployed as it is." in same.output
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "cart.yaml").write_text(CART.replace("wait: 1h", "wait: soon"), encoding="utf-8")
    refused = plan(store, broken)
    assert refused.exit_code != 0 and "cart.yaml" in refused.output and "no plan" in refused.output



def test_each_changed_journey_is_backtested_against_the_deployed_version_over_the_window(store: Store, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    with store.session() as session:
        for n in range(3):
            at = now - timedelta(days=2, hours=n)
            customer = f"shopper-{n}"
            session.record_event(f"i{n}", customer, "identify", {"email": f"{customer}@example.com"}, at, at)
            session.identify(customer, {"email": f"{customer}@example.com"}, at)
            session.record_event(f"t{n}", customer, "checkout_started", {}, at, at)
    journeys = folder(tmp_path, CART_NEXT, VIP)

    document = json.loads(plan(store, journeys, "--format", "json").output)
    text = plan(store, journeys).output
    markdown = plan(store, journeys, "--format", "markdown").output
    skipped = plan(store, journeys, "--window", "none").output

    assert list(document["backtests"]) == ["cart"]  # vip is unchanged
    backtest = document["backtests"]["cart"]
    assert (backtest["journey"]["version"], backtest["other"]["version"]) == (compiled(CART_NEXT).version, compiled(CART).version)
    assert backtest["journey"]["totals"]["entered"] == backtest["other"]["totals"]["entered"] == 3
    steps = {step["step"]: step for step in backtest["differences"]["steps"]}
    assert steps["nudge"]["side"] == "other" and steps["nudge"]["sent"] == [None, 3]  # only the deployed version nudges
    assert backtest["differences"]["totals"]["messages sent"] == -3
    assert "Backtests: each change against what is deployed, over the last 30 days" in text
    assert "nudge" in text and "only in deployed" in text
    assert "## Backtests" in markdown and "| `nudge` |" in markdown
    assert "Backtests" not in skipped and "shopper" not in text + markdown  # never a customer's id
