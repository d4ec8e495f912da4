"""/console/journeys/{id} of a scheduled journey: its broadcast runs, every number the one `read_journey_runs` answers.

The runs' rows are written as the page activity and the router write them (a run, its cohorts, their members
indexed with the cohort's id, their message facts), as tests/store/test_store_broadcasts.py does: one run still
paging, one cancelled, one finished.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from orchestrator.analytics.report_format import count
from orchestrator.store import Enrollment, JourneyFact, Store
from orchestrator.store.broadcasts import BroadcastProgress, read_journey_runs
from tests.api.support import compiled
from tests.console.support import CART, app_for, console_client, log_in, migrated_store, parsed
from tests.console.test_journey_page import region

SALE = """
id: sale
name: Sale
trigger:
  schedule: {cron: "0 9 * * MON", timezone: Europe/Paris}
entry: {audience: "true", re_entry: always}
steps:
  - id: announce
    send: {channel: email, subject: "Sale", body: "Today only."}
"""
DIGEST = SALE.replace("id: sale", "id: digest").replace("name: Sale", "name: Digest")
CUSTOMERS = [f"c{n}" for n in range(9)]


def enroll_page(store: Store, run: str, page: int, customers: list[str], at: datetime, version: str) -> list[Enrollment]:
    """One page of `run` enrolled into one cohort, as the router records it."""
    cohort = f"cohort-{run}-{page}"
    members = [Enrollment(f"sale-{c}-{run}", "sale", version, c, "running", None, at, None, None, cohort) for c in customers]
    with store.session() as session:
        session.start_enrollments(members)
        session.record_cohort(cohort, run, "sale", version, page, len(members), at)
        session.broadcast_page_done(run, page, customers[-1], at)
    return members


def message(member: Enrollment, status: str, at: datetime, reason: str | None = None) -> JourneyFact:
    return JourneyFact(
        "message", "sale", member.version, member.enrollment_id, member.customer_id, f"message:announce:1:{status}", at,
        step_id="announce", visit=1, name="email", status=status, detail=reason,
    )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = migrated_store(tmp_path)
    now = datetime.now(UTC).replace(microsecond=0)
    sale, digest, cart = compiled(SALE), compiled(DIGEST), compiled(CART)
    with opened.session() as session:
        for journey in (sale, digest, cart):
            session.deploy(journey, now - timedelta(days=30))
        for customer in CUSTOMERS:
            session.identify(customer, {}, now - timedelta(days=30))
        session.start_broadcast_run("run-finished", "sale", sale.version, now - timedelta(days=14))
        session.start_broadcast_run("run-cancelled", "sale", sale.version, now - timedelta(days=7))
        session.start_broadcast_run("run-paging", "sale", sale.version, now - timedelta(minutes=3))
    finished = enroll_page(opened, "run-finished", 0, CUSTOMERS[:3], now - timedelta(days=14), sale.version)
    cancelled = enroll_page(opened, "run-cancelled", 0, CUSTOMERS[:2], now - timedelta(days=7), sale.version)
    first = enroll_page(opened, "run-paging", 0, CUSTOMERS[:3], now - timedelta(minutes=3), sale.version)
    second = enroll_page(opened, "run-paging", 1, CUSTOMERS[3:5], now - timedelta(minutes=2), sale.version)
    with opened.session() as session:
        session.broadcast_page_done("run-finished", 1, None, now - timedelta(days=14))
        session.cancel_broadcast_run("run-cancelled", now - timedelta(days=7) + timedelta(minutes=1))
        session.record_facts(
            [
                *(message(member, "sent", now - timedelta(days=14)) for member in finished),
                message(cancelled[0], "sent", now - timedelta(days=7)),
                message(first[0], "sent", now), message(first[1], "suppressed", now, "no consent"),
                message(first[2], "suppressed", now, "quiet hours"), message(second[0], "suppressed", now, "no consent"),
                message(second[1], "failed", now),
            ]
        )  # fmt: skip
        for member in finished:
            session.finish_enrollment(member.enrollment_id, "completed", "announce", now - timedelta(days=14))
        session.finish_enrollment(cancelled[0].enrollment_id, "completed", "announce", now - timedelta(days=7))
        session.finish_enrollment(cancelled[1].enrollment_id, "exited", "announce", now - timedelta(days=7), "broadcast cancelled")
        session.finish_enrollment(first[0].enrollment_id, "completed", "announce", now)
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    with console_client(app_for(store)) as opened:
        log_in(opened)
        yield opened


def shown_row(progress: BroadcastProgress) -> dict[str, str]:
    """What the run's row must say: each number as the console writes counts (`journey stats`'s way)."""
    run = progress.run
    reasons = "; ".join(f"{reason}: {count(n)}" for reason, n in sorted(progress.suppressed.items())) or "none"
    return {
        "started": f"{run.started_at:%Y-%m-%d %H:%M} UTC", "state": progress.state, "pages": count(run.pages),
        "enrolled": count(progress.enrolled), "sent": count(progress.sent), "suppressed": reasons, "failed": count(progress.failed),
        "remaining": count(progress.remaining), "to-read": count(progress.profiles_to_read),
    }  # fmt: skip


@pytest.mark.parametrize("path", ["/console/journeys/sale", "/console/journeys/sale/live", "/console/journeys/sale?from=2020-01-01"])
def test_every_number_of_each_run_is_read_journey_runs_newest_first(client: TestClient, store: Store, path: str) -> None:
    html = client.get(path).text
    runs = read_journey_runs(store, "sale")
    table = region(html, "broadcast-runs", "</table>")
    assert [row.split('"')[0] for row in table.split('data-testid="run-')[1:]] == [p.run.run_key for p in runs]
    for progress in runs:
        row = parsed(region(table, f"run-{progress.run.run_key}", "</tr>"))
        shown = {name: texts[0] for name, texts in row.texts.items() if name != f"run-{progress.run.run_key}"}
        assert shown == shown_row(progress), progress.run.run_key
        reasons = region(table, f"run-{progress.run.run_key}", "</tr>")
        for reason, n in progress.suppressed.items():
            assert f'<span data-reason="{reason}">{count(n)}</span>' in reasons
    # The facts above: so the comparisons mean something (every state but `running`, reasons, a cursor with profiles after it).
    assert [(p.state, p.enrolled, p.sent, p.failed, p.remaining, p.profiles_to_read) for p in runs] == [
        ("paging", 5, 1, 1, 4, 4), ("cancelled", 2, 1, 0, 0, 0), ("finished", 3, 3, 0, 0, 0)
    ]  # fmt: skip
    assert runs[0].suppressed == {"no consent": 2, "quiet hours": 1} and runs[0].run.pages == 2


def test_the_runs_refresh_with_the_live_part_and_cancelling_stays_a_command(client: TestClient) -> None:
    html = client.get("/console/journeys/sale").text
    live = html[html.index('<div id="live"') :]
    assert 'data-testid="broadcast-runs"' in live  # inside the region htmx asks for again
    section = region(html, "broadcast-runs", "</section>")
    assert "journey broadcast cancel RUN" in section
    assert "<form" not in section and "<button" not in section  # the console watches a run, never stops it


def test_a_schedule_that_has_not_fired_says_so_and_other_journeys_show_no_runs(client: TestClient) -> None:
    digest = parsed(client.get("/console/journeys/digest").text)
    assert "broadcast-runs-empty" in digest.texts and "broadcast-runs" not in digest.texts
    assert "schedule fires" in digest.texts["journey-empty"][0]  # not "send a track call": a broadcast enrolls by itself
    cart = client.get("/console/journeys/cart").text
    assert "Broadcast runs" not in cart and "broadcast-runs" not in cart
