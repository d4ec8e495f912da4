"""`journey broadcast status|list` and the runs under `journey stats` for a scheduled journey, read from the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from click.testing import CliRunner, Result

from orchestrator.cli import main
from orchestrator.compiler import compile_text
from orchestrator.store import Enrollment, JourneyFact, Store

AT = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
SALE = """
id: sale
name: Sale
trigger:
  schedule: {at: "2026-11-27T08:00:00", timezone: UTC}
entry: {audience: "true", re_entry: always}
steps:
  - id: announce
    send: {channel: email, subject: "Sale", body: "Today only."}
"""


def journey(store: Store, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": store.url, "COLUMNS": "120"})


def broadcast_two_customers(store: Store) -> None:
    result = compile_text(SALE, file="sale.yaml", directory=".")
    assert result.journey is not None
    version = result.journey.version
    members = [Enrollment(f"sale-{c}-1", "sale", version, c, "running", None, AT, None, None, "cohort-0") for c in ("ann", "bob")]
    with store.session() as session:
        session.deploy(result.journey, AT)
        session.identify("ann", {}, AT)
        session.identify("bob", {}, AT)
        session.start_broadcast_run("run-1", "sale", version, AT)
        session.start_enrollments(members)
        session.record_cohort("cohort-0", "run-1", "sale", version, 0, 2, AT)
        session.record_facts(
            [
                JourneyFact("entered", "sale", version, m.enrollment_id, m.customer_id, "entered", AT) for m in members
            ] + [
                JourneyFact(
                    "message", "sale", version, "sale-ann-1", "ann", "message:announce:1:suppressed", AT, step_id="announce",
                    visit=1, name="email", status="suppressed", detail="no consent",
                )
            ]
        )  # fmt: skip
        session.broadcast_page_done("run-1", 0, "bob", AT)
        session.broadcast_page_done("run-1", 1, None, AT)


def test_status_prints_a_runs_progress_and_its_json_is_the_apis(store: Store) -> None:
    broadcast_two_customers(store)

    text = journey(store, "broadcast", "status", "run-1")
    as_json = journey(store, "broadcast", "status", "run-1", "--format", "json")

    assert text.exit_code == 0, text.output
    assert "run-1 (sale" in text.output and "running" in text.output
    assert "enrolled   2 in 1 cohort(s); 2 still running" in text.output
    assert "0 sent, 1 suppressed (no consent 1), 0 failed" in text.output
    document = json.loads(as_json.output)
    assert (document["state"], document["enrolled"], document["suppressed"], document["pages"]) == ("running", 2, {"no consent": 1}, 2)


def test_list_and_stats_show_the_journeys_runs_and_unknown_ids_exit_1(store: Store) -> None:
    broadcast_two_customers(store)

    listed = journey(store, "broadcast", "list", "sale")
    stats = journey(store, "stats", "sale")

    assert listed.exit_code == 0
    assert listed.output.splitlines()[1].split() == ["run-1", "2026-11-27", "08:00", "running", "2", "0", "1", "0", "2"]
    assert stats.exit_code == 0 and "Broadcast runs" in stats.output and "run-1" in stats.output
    unknown_run, unknown_journey = journey(store, "broadcast", "status", "nope"), journey(store, "broadcast", "list", "nope")
    assert (unknown_run.exit_code, unknown_journey.exit_code) == (1, 1)
    assert "no broadcast run 'nope'" in unknown_run.output and "no journey 'nope'" in unknown_journey.output
