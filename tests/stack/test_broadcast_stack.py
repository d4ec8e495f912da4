"""A broadcast on the real stack (worker and API as processes, the dev server), the worker SIGKILLed in the middle of a
page's sends: every customer still gets each message exactly once, through two cohorts and no workflow of their own."""

from __future__ import annotations

import textwrap
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestrator.host.devserver import DevServer
from tests.stack.processes import Deployment, Processes, eventually
from tests.stack.store_view import StoreView
from tests.stack.test_reliability import journey_folder

CUSTOMERS = 600
"""Two pages: a full cohort of 500 and one of 100."""
STEPS = ("announce", "reminder")


def broadcast(at: datetime) -> str:
    return textwrap.dedent(
        f"""\
        id: flash_sale
        name: Flash sale
        trigger:
          schedule: {{at: "{at:%Y-%m-%dT%H:%M:%S}", timezone: UTC}}
        entry: {{audience: "customer.email != none"}}
        steps:
          - id: announce
            send: {{channel: email, category: transactional, subject: "Flash sale, {{{{ customer.first_name }}}}", body: "Today only."}}
          - id: pause
            wait: 5s
          - id: reminder
            send: {{channel: email, category: transactional, subject: "Last hours", body: "Until midnight."}}
        """
    )


def identify(customers: list[str]) -> dict[str, object]:
    return {"batch": [{"type": "identify", "userId": c, "traits": {"email": f"{c}@example.com", "first_name": c}} for c in customers]}


def test_a_worker_killed_in_the_middle_of_a_page_loses_and_doubles_no_message(
    temporal_server: DevServer, tmp_path: Path, processes: Processes
) -> None:
    deployment = Deployment(tmp_path, temporal_server.address)
    fire_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=15)
    api, worker = processes.deployment(deployment, journey_folder(tmp_path, flash_sale=broadcast(fire_at)))
    store = StoreView(deployment.database)
    customers = [f"fan-{n:04d}" for n in range(CUSTOMERS)]
    for first in range(0, CUSTOMERS, 200):
        answer = api.post("/v1/batch", identify(customers[first : first + 200]))
        assert answer.status_code == 200, answer.text
    assert datetime.now(UTC) < fire_at, "the customers were not all there when the broadcast fired: make fire_at later"

    # Killed while a batch has claimed its sends and not recorded them: in the middle of a page, whatever its speed.
    eventually(lambda: store.count("deliveries", "status = 'intent'") > 0, timeout=90, what="a batch of sends in flight", every=0.002)
    worker.kill()
    at_kill = {"sent": store.count("outbox_messages"), "in flight": store.count("deliveries", "status = 'intent'")}
    assert at_kill["sent"] < CUSTOMERS * len(STEPS), f"the kill came after the last send: it tested nothing ({at_kill})"
    worker = processes.worker(deployment)

    def finished() -> bool:
        return store.statuses() == {"completed": CUSTOMERS}

    eventually(finished, timeout=240, what="every member to complete", explain=store.statuses)
    assert worker.terminate() == 0, worker.log_tail()

    outbox = store.outbox()
    assert Counter((m["customer_id"], m["step_id"]) for m in outbox) == Counter({(c, s): 1 for c in customers for s in STEPS}), at_kill
    assert {(d["step_id"], d["status"]) for d in store.deliveries()} == {(s, "sent") for s in STEPS}
    assert len(store.deliveries()) == CUSTOMERS * len(STEPS)
    enrollments = store.enrollments()
    assert len(enrollments) == CUSTOMERS and len({e["customer_id"] for e in enrollments}) == CUSTOMERS
    assert len({e["cohort_id"] for e in enrollments}) == 2 and all(e["cohort_id"] for e in enrollments), "one workflow per page"
    (run,) = api.get("/v1/journeys/flash_sale/broadcasts").json()["broadcasts"]
    counts = {key: run[key] for key in ("state", "cohorts", "enrolled", "sent", "failed", "remaining", "suppressed")}
    assert counts == {
        "state": "finished", "cohorts": 2, "enrolled": CUSTOMERS, "sent": CUSTOMERS * len(STEPS), "failed": 0, "remaining": 0,
        "suppressed": {},
    }  # fmt: skip
