"""`journey plan --migrate`: who the deploy would move onto the new version, who stays and why, step by step."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from orchestrator.cli import main
from orchestrator.store import JourneyFact, Store
from tests.api.support import compiled
from tests.host.test_plan import CART
from tests.keys import HASH_SECRET

CART_NEXT = """
id: cart
name: Cart reminder
trigger: {event: checkout_started}
steps:
  - id: wait_a_bit
    wait: 2h
  - id: remind
    send: {channel: email, subject: "Your cart is waiting", body: "<p>Still there.</p>"}
  - id: final_call
    wait: 3d
  - id: nudge
    send: {channel: email, subject: "Last call", body: "<p>Going, going.</p>"}
"""


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """Three cart enrollments wait at wait_a_bit, two at last_call (which the next version drops), one is between steps."""
    store = Store(f"sqlite:///{tmp_path / 'journey.db'}", HASH_SECRET)
    store.migrate()
    now = datetime.now(UTC)
    cart = compiled(CART)
    with store.session() as session:
        session.deploy(cart, now - timedelta(days=3))
        facts = []
        for n, step in enumerate(["wait_a_bit"] * 3 + ["last_call"] * 2 + [None]):
            base = {"journey_id": "cart", "version": cart.version, "enrollment_id": f"e{n}", "customer_id": f"c{n}"}
            at = now - timedelta(hours=5)
            facts.append(JourneyFact("entered", fact_key="entered", occurred_at=at, **base))
            if step is not None:
                facts.append(JourneyFact("rested", fact_key=f"rested:{step}:1", occurred_at=at, step_id=step, visit=1, **base))
        session.record_facts(facts)
    yield store
    store.dispose()


def plan(store: Store, tmp_path: Path, *args: str) -> Result:
    where = tmp_path / "journeys"
    where.mkdir(exist_ok=True)
    (where / "cart.yaml").write_text(CART_NEXT, encoding="utf-8")
    return CliRunner().invoke(main, ["plan", str(where), *args], env={"DATABASE_URL": store.url})


def test_by_default_the_plan_names_the_command_that_would_move_those_who_can(store: Store, tmp_path: Path) -> None:
    printed = plan(store, tmp_path)
    assert printed.exit_code == 0, printed.output
    new = compiled(CART_NEXT).version
    assert "6 running enrollments finish on the version they started" in printed.output
    assert f"    - journey deploy --migrate cart would move 3 of them onto version {new}, deadlines kept" in printed.output


def test_under_migrate_each_step_says_who_moves_where_and_who_stays_and_why(store: Store, tmp_path: Path) -> None:
    old, new = compiled(CART).version, compiled(CART_NEXT).version
    text = plan(store, tmp_path, "--migrate", "cart", "--window", "none")  # the plan's last lines, without the backtests after them
    assert text.exit_code == 0, text.output
    assert "with --migrate, 3 waiting enrollments move to it and 3 finish on the version they started." in text.output
    assert text.output.splitlines()[-6:-2] == [
        f"  - version {old}: 6 running, waiting at wait_a_bit 3, last_call 2 (not in the new version)",
        f"    - 3 move to version {new} at wait_a_bit",
        f"    - 2 stay on version {old}: last_call is not in version {new}",
        f"    - 1 between steps stays on version {old} (a rerun moves those that wait by then)",
    ]
    markdown = plan(store, tmp_path, "--migrate", "cart", "--map", "last_call=final_call", "--format", "markdown")
    assert markdown.exit_code == 0, markdown.output
    assert f"  - 2 move to version `{new}` at `final_call`" in markdown.output
    document = json.loads(plan(store, tmp_path, "--migrate", "cart", "--format", "json").output)
    (cart,) = document["journeys"]
    assert cart["migrating"] is True
    assert cart["running"][0]["migrate"] == [
        {"step": "wait_a_bit", "waiting": 3, "moves_to": "wait_a_bit", "stays": None},
        {"step": "last_call", "waiting": 2, "moves_to": None, "stays": f"last_call is not in version {new}"},
    ]


def test_a_migration_plan_with_a_mapping_that_names_no_step_is_refused(store: Store, tmp_path: Path) -> None:
    refused = plan(store, tmp_path, "--migrate", "cart", "--map", "last_call=final")
    assert refused.exit_code == 1
    assert f"--map last_call=final: version {compiled(CART_NEXT).version} has no step final" in refused.output
    assert "no plan" in refused.output
