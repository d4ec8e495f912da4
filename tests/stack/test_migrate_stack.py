"""`journey deploy --migrate` on the real stack: worker, API and deploy as processes, the worker SIGKILLed while moves apply."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from temporalio.client import Client

from orchestrator.host.devserver import DevServer
from orchestrator.runtime.search_attributes import JOURNEY_VERSION
from tests.stack.processes import Deployment, Processes, eventually
from tests.stack.store_view import StoreView
from tests.stack.test_reliability import all_completed, journey_folder, sign_up

V1 = textwrap.dedent(
    """\
    id: napping
    name: A nap, then an e-mail
    trigger: {event: signed_up}
    steps:
      - id: nap
        wait: 20s
      - id: hello
        send: {channel: email, subject: "v1 hello", body: "after the nap"}
    """
)
V2 = V1.replace("wait: 20s", "wait: 120s").replace("v1 hello", "v2 hello")


def deploy_migrate(deployment: Deployment, folder: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "orchestrator", "deploy", str(folder), "--prune", "--migrate", "napping"]
    return subprocess.Popen(command, env=deployment.environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def journey_versions(address: str, enrollment_ids: list[str]) -> set[str | None]:
    """What the enrollments' JourneyVersion search attribute says now (the runs they ended on)."""

    async def read() -> set[str | None]:
        client = await Client.connect(address)
        described = [await client.get_workflow_handle(enrollment_id).describe() for enrollment_id in enrollment_ids]
        return {found.typed_search_attributes.get(JOURNEY_VERSION) for found in described}

    return asyncio.run(read())


def test_a_worker_killed_while_moves_apply_loses_and_doubles_no_message(
    temporal_server: DevServer, tmp_path: Path, processes: Processes
) -> None:
    deployment = Deployment(tmp_path, temporal_server.address)
    folder = journey_folder(tmp_path, napping=V1)
    api, worker = processes.deployment(deployment, folder)
    store = StoreView(deployment.database)
    customers = [f"nap-{i}" for i in range(6)]
    assert len(api.post("/v1/batch", sign_up(customers)).json()["enrolled"]) == 6
    eventually(lambda: store.count("journey_facts", "kind = 'rested'") == 6, timeout=30, what="everyone resting at nap")
    (folder / "napping.yaml").write_text(V2)
    v1 = store.enrollments()[0]["version"]

    deploying = deploy_migrate(deployment, folder)
    eventually(
        lambda: store.count("enrollments", "version != ?", v1) > 0 or deploying.poll() is not None,
        timeout=30,
        what="a first enrollment moved",
        every=0.005,
    )
    assert deploying.poll() is None, deploying.communicate()[0]
    worker.kill()
    moved_before_kill = store.count("enrollments", "version != ?", v1)
    assert moved_before_kill < 6, "every move was done before the kill: it tested nothing"
    worker = processes.worker(deployment)
    output, _ = deploying.communicate(timeout=90)
    assert deploying.returncode == 0, output
    assert "migrate    napping -> " in output and "6 asked to move" in output, output

    all_completed(store, 6, timeout=120)
    rerun = deploy_migrate(deployment, folder)
    again, _ = rerun.communicate(timeout=60)
    assert "0 asked to move, 0 moved" in again, again
    assert worker.terminate() == 0, worker.log_tail()

    outbox = store.outbox()
    assert Counter(m["customer_id"] for m in outbox) == Counter({customer: 1 for customer in customers}), outbox
    assert {m["subject"] for m in outbox} == {"v2 hello"}, f"moved before the kill: {moved_before_kill}"
    entered = {e["customer_id"]: datetime.fromisoformat(e["entered_at"]) for e in store.enrollments()}
    for message in outbox:
        # v1's 20-second nap, kept: not v2's two minutes (a move whose activity the dead worker held is retried later, still sooner).
        assert datetime.fromisoformat(message["sent_at"]) - entered[message["customer_id"]] < timedelta(seconds=100)
    v2 = {e["version"] for e in store.enrollments()}
    assert len(v2) == 1 and v2 != {v1}
    assert journey_versions(temporal_server.address, [e["enrollment_id"] for e in store.enrollments()]) == v2
