"""The deployment docs/deploy.md describes, run for real: two `journey api` and two `journey worker` against the dev server
and PostgreSQL. A worker SIGKILLed in the middle of sends and an API SIGKILLed in the middle of traffic lose and double no
message, and the metrics each surviving process serves count exactly what it did."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from orchestrator.host.devserver import DevServer
from tests.stack.processes import ApiProcess, Deployment, JourneyProcess, Processes, eventually, wait_polling
from tests.stack.test_reliability import DRIP, DRIP_STEPS, journey_folder, send_attempts, sign_up


class Database:
    """The store's tables, read with a connection of the test's own."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))

    def rows(self, sql: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(text(sql))]

    def count(self, table: str, where: str = "true") -> int:
        return int(self.rows(f"SELECT count(*) AS n FROM {table} WHERE {where}")[0]["n"])


def scraped(url: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`, from a /metrics page."""
    page = httpx.get(url, timeout=10).text
    total = 0.0
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


def settled(url: str, name: str, **labels: str) -> float:
    """`scraped`, once two reads half a second apart agree (a count moves just after the commit it counts)."""
    values = [scraped(url, name, **labels)]

    def still() -> bool:
        time.sleep(0.5)
        values.append(scraped(url, name, **labels))
        return values[-1] == values[-2]

    eventually(still, timeout=30, what=f"{name} to settle", every=0)
    return values[-1]


def ops_url(worker: JourneyProcess) -> str:
    return f"http://{worker.env['JOURNEY_WORKER_HTTP']}"


def accepted_by(api: ApiProcess) -> float:
    return scraped(api.url + "/metrics", "journey_events_total", outcome="accepted")


def test_two_apis_two_workers_a_killed_worker_and_a_killed_api(
    temporal_server: DevServer, postgres_url: str, tmp_path: Path, processes: Processes
) -> None:
    deployment = Deployment(tmp_path, temporal_server.address, database_url=postgres_url)
    first_worker = processes.worker(deployment, wait=False)
    deployment.deploy(journey_folder(tmp_path, drip=DRIP))
    first_api, second_api = processes.api(deployment), processes.api(deployment)
    wait_polling(first_worker, deployment)
    database = Database(postgres_url)
    answered: Counter[int] = Counter()  # the calls each API answered 200, by port

    def send(api: ApiProcess, customers: list[str]) -> None:
        answer = api.post("/v1/batch", sign_up(customers))
        assert answer.status_code == 200, answer.text
        answered[api.port] += 1

    # Traffic through both APIs; the first worker, alone until then so that the send in flight is its own, is killed with
    # sends claimed in the ledger and not yet sent. Two workers take over from it.
    early = [f"topo-{i:02d}" for i in range(30)]
    for number, start in enumerate(range(0, len(early), 5)):
        send((first_api, second_api)[number % 2], early[start : start + 5])
    eventually(
        lambda: database.count("outbox_messages") >= 20 and database.count("deliveries", "status = 'intent'") > 0,
        timeout=60, what="20 messages out and one more in flight", every=0.002,
    )  # fmt: skip
    first_worker.kill()
    killed_at = database.count("outbox_messages")
    workers = [processes.worker(deployment, wait=False), processes.worker(deployment, wait=False)]
    for worker in workers:
        wait_polling(worker, deployment)

    # The second API is killed between calls; a sender that loses it sends the same call to the first one.
    late = [f"late-{i:02d}" for i in range(10)]
    send(second_api, late[:5])
    second_api.kill()
    try:
        send(second_api, late[5:])
        raise AssertionError("a killed API answered")
    except httpx.TransportError:
        send(first_api, late[5:])  # the same messageIds: what the dead API recorded, if anything, is a duplicate
    customers = early + late

    def all_completed() -> bool:
        return database.rows("SELECT status, count(*) AS n FROM enrollments GROUP BY status") == [{"status": "completed", "n": 40}]

    eventually(all_completed, timeout=150, what="every enrollment to complete", every=0.5)
    outbox = database.rows("SELECT enrollment_id, step_id FROM outbox_messages")
    enrollments = database.rows("SELECT enrollment_id, customer_id FROM enrollments")
    assert sorted(e["customer_id"] for e in enrollments) == sorted(customers)
    assert Counter((m["enrollment_id"], m["step_id"]) for m in outbox) == Counter(
        {(e["enrollment_id"], step): 1 for e in enrollments for step in DRIP_STEPS}
    )  # every customer got each of the four e-mails once, the kills notwithstanding
    assert killed_at < len(outbox), "the worker was killed after the last send: it tested nothing"
    assert database.count("deliveries", "status <> 'sent'") == 0
    attempts = send_attempts(temporal_server.address, [e["enrollment_id"] for e in enrollments])
    assert sum(attempts.values()) == len(outbox)
    assert sum(n for attempt, n in attempts.items() if attempt > 1) > 0, "no send was retried: the kill hit none in flight"

    # What the surviving processes count: the first API answered every call it got, and the last wave goes through the
    # two running workers alone, so their counters together move by exactly that wave.
    assert accepted_by(first_api) == answered[first_api.port]

    def together(name: str, **labels: str) -> float:
        return sum(settled(ops_url(worker) + "/metrics", name, **labels) for worker in workers)

    sends_before = together("journey_sends_total", channel="email", outcome="sent")
    ends_before = together("journey_enrollments_ended_total", journey="drip", status="completed")
    last = [f"last-{i:02d}" for i in range(5)]
    send(first_api, last)
    eventually(lambda: database.count("enrollments", "status = 'completed'") == 45, timeout=60, what="the last wave to complete")
    assert together("journey_sends_total", channel="email", outcome="sent") - sends_before == len(last) * len(DRIP_STEPS)
    assert together("journey_enrollments_ended_total", journey="drip", status="completed") - ends_before == len(last)
    assert accepted_by(first_api) == answered[first_api.port]
    assert all(httpx.get(ops_url(worker) + "/readyz", timeout=10).status_code == 200 for worker in workers)
