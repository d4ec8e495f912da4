"""Crashes and outages on the real stack: a restarted Temporal, an API without Temporal.

Each part runs as its own process (`journey worker`, `journey api`, the Temporal dev
server), configured by environment as in docs/deploy.md, on one SQLite store per test.
A worker SIGKILLed in the middle of sends is tests/stack/test_topology.py's (two APIs and
two workers on PostgreSQL); one killed in the middle of a broadcast page, on SQLite,
tests/stack/test_broadcast_stack.py's.
"""

from __future__ import annotations

import asyncio
import signal
import textwrap
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client

from orchestrator.privacy.payload_codec import encrypting_converter
from tests.keys import PAYLOAD_KEYS
from tests.stack.processes import ApiProcess, Deployment, Processes, eventually, start_temporal
from tests.stack.store_view import StoreView

DRIP_STEPS = ("first", "second", "third", "fourth")
DRIP = textwrap.dedent(
    """\
    id: drip
    name: Four e-mails a second apart
    trigger: {event: signed_up}
    steps:
      - id: first
        send: {channel: email, subject: "1/4 for {{ customer.first_name }}", body: "one"}
      - id: pause_1
        wait: 1s
      - id: second
        send: {channel: email, subject: "2/4", body: "two"}
      - id: pause_2
        wait: 1s
      - id: third
        send: {channel: email, subject: "3/4", body: "three"}
      - id: pause_3
        wait: 1s
      - id: fourth
        send: {channel: email, subject: "4/4", body: "four"}
    """
)


def journey_folder(root: Path, **journeys: str) -> Path:
    folder = root / "journeys"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in journeys.items():
        (folder / f"{name}.yaml").write_text(text)
    return folder


def sign_up(customers: list[str]) -> dict[str, Any]:
    """One batch: identify each customer (with an e-mail address), then their `signed_up` event."""
    batch: list[dict[str, Any]] = []
    for customer in customers:
        batch.append({"type": "identify", "userId": customer, "traits": {"email": f"{customer}@example.com", "first_name": customer}})
        batch.append({"type": "track", "userId": customer, "event": "signed_up", "messageId": f"signup-{customer}"})
    return {"batch": batch}


def retried(api: ApiProcess, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    """What a sender does after a 503: the same call again, until it is accepted; the answer."""

    def attempt() -> dict[str, Any] | None:
        answer = api.post(path, payload)
        assert answer.status_code in (200, 503), answer.text
        return answer.json() if answer.status_code == 200 else None

    return eventually(attempt, timeout=60, what=f"POST {path} to be accepted", every=0.5)


def all_completed(store: StoreView, count: int, *, timeout: float) -> None:
    """Until the store says `count` enrollments, all completed (their workflows end a moment later)."""

    def done() -> bool:
        return store.statuses() == {"completed": count}

    eventually(done, timeout=timeout, what="every enrollment to complete", explain=store.statuses)


def send_attempts(address: str, enrollment_ids: list[str]) -> Counter[int]:
    """Once every enrollment's workflow has ended: how many `send_message` activities completed on
    their first, second... attempt (from the workflow histories)."""

    async def read() -> Counter[int]:
        client = await Client.connect(address, data_converter=encrypting_converter(PAYLOAD_KEYS))  # the processes' keys
        attempts: Counter[int] = Counter()
        for enrollment_id in enrollment_ids:
            handle = client.get_workflow_handle(enrollment_id)
            await asyncio.wait_for(handle.result(), timeout=60)
            history = await handle.fetch_history()
            scheduled = {
                e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
                for e in history.events
                if e.HasField("activity_task_scheduled_event_attributes")
            }
            for event in history.events:
                if event.HasField("activity_task_started_event_attributes"):
                    started = event.activity_task_started_event_attributes
                    if scheduled[started.scheduled_event_id] == "send_message":
                        attempts[started.attempt] += 1
        return attempts

    return asyncio.run(read())


NAP = textwrap.dedent(
    """\
    id: nap
    name: A short nap, then two e-mails
    trigger: {event: signed_up}
    steps:
      - id: nap
        wait: 4s
      - id: hello
        send: {channel: email, subject: "Hello {{ customer.first_name }}", body: "after the nap"}
      - id: pause
        wait: 1s
      - id: again
        send: {channel: email, subject: "Hello again", body: "one more"}
    """
)


def test_enrollments_asleep_while_temporal_restarts_wake_up_and_complete(tmp_path: Path, processes: Processes) -> None:
    temporal = start_temporal(tmp_path / "temporal")
    try:
        deployment = Deployment(tmp_path, temporal.address)
        api, worker = processes.deployment(deployment, journey_folder(tmp_path, nap=NAP))
        store = StoreView(deployment.database)
        customers = [f"nap-{i:02d}" for i in range(10)]
        answer = api.post("/v1/batch", sign_up(customers))
        assert answer.status_code == 200, answer.text
        eventually(lambda: all(api.journeys(c)[0]["current_step"] == "nap" for c in customers), timeout=30, what="everyone asleep")
        enrolled = {e["enrollment_id"]: e["entered_at"] for e in store.enrollments()}

        # Temporal goes away while they sleep, and stays away past the end of the nap.
        temporal.stop()
        assert api.journeys(customers[0])[0]["current_step"] is None  # unknown for now, not an error
        nap_over = max(datetime.fromisoformat(at).replace(tzinfo=UTC) for at in enrolled.values()) + timedelta(seconds=5)
        time.sleep(max(0.0, (nap_over - datetime.now(UTC)).total_seconds()))
        assert store.count("outbox_messages") == 0, "a message went out before the nap ended, or while Temporal was down"
        temporal = start_temporal(temporal.data_dir, temporal.port)

        # The API and the worker reconnect by themselves: a new sign-up is taken, every nap ends,
        # every message goes out once.
        assert len(retried(api, "/v1/batch", sign_up(["nap-late"]))["enrolled"]) == 1
        everyone = [*customers, "nap-late"]
        all_completed(store, len(everyone), timeout=60)
        assert worker.running, worker.log_tail()
        for customer in everyone:
            assert [m["subject"] for m in api.messages(customer)] == [f"Hello {customer}", "Hello again"]
        assert {e["enrollment_id"]: e["entered_at"] for e in store.enrollments() if e["customer_id"] in customers} == enrolled
        assert len(store.deliveries()) == 2 * len(everyone)
        assert worker.terminate() == 0, worker.log_tail()
    finally:
        temporal.stop()


VIP = textwrap.dedent(
    """\
    id: vip
    name: Welcome to VIP
    trigger: {segment: "customer.plan == 'vip'"}
    steps:
      - id: welcome
        send: {channel: email, subject: "Welcome to VIP, {{ customer.first_name }}", body: "Enjoy."}
    """
)


def test_the_api_refuses_calls_while_temporal_is_down_and_applies_their_retry_once(tmp_path: Path, processes: Processes) -> None:
    temporal = start_temporal(tmp_path / "temporal")
    try:
        deployment = Deployment(tmp_path, temporal.address)
        api, worker = processes.deployment(deployment, journey_folder(tmp_path, nap=NAP, vip=VIP))
        store = StoreView(deployment.database)
        dana_traits = {"email": "dana@example.com", "first_name": "dana"}
        assert api.post("/v1/identify", {"userId": "dana", "traits": dana_traits}).status_code == 200
        dana = store.profile("dana")
        signup = {"userId": "erin", "event": "signed_up", "messageId": "erin-signup"}
        upgrade = {"userId": "dana", "traits": {"plan": "vip"}, "messageId": "dana-vip"}

        temporal.stop()
        # A new customer's first event (it would create her profile and enroll her): refused, nothing kept.
        refused = api.post("/v1/track", signup)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == "temporal_unavailable" and "Retry-After" in refused.headers
        assert store.events("erin-signup") == [] and store.profile("erin") is None

        # An API (re)started during the outage comes up, says Temporal is missing, and refuses the same way.
        assert api.terminate() in (0, -signal.SIGTERM), api.log_tail()  # uvicorn re-raises SIGTERM once it has stopped
        api = processes.api(deployment)
        health = {"status": "degraded", "database": "ok", "temporal": "unreachable", "active_journeys": 2}
        assert api.get("/healthz").json() == health
        # A trait that would put Dana in the VIP segment: refused, her profile unchanged.
        refused = api.post("/v1/identify", upgrade)
        assert refused.status_code == 503, refused.text
        assert store.events("dana-vip") == [] and store.profile("dana") == dana
        assert store.enrollments() == []

        temporal = start_temporal(temporal.data_dir, temporal.port)

        accepted = retried(api, "/v1/track", signup)
        assert accepted["duplicate"] is False and len(accepted["enrolled"]) == 1
        erin_traits = {"email": "erin@example.com", "first_name": "erin"}  # before the nap ends
        assert api.post("/v1/identify", {"userId": "erin", "traits": erin_traits}).status_code == 200
        upgraded = retried(api, "/v1/identify", upgrade)
        assert upgraded["duplicate"] is False and len(upgraded["enrolled"]) == 1
        # Once more, as a sender unsure whether its retry landed: no effect.
        for path, payload in (("/v1/track", signup), ("/v1/identify", upgrade)):
            again = api.post(path, payload).json()
            assert again["duplicate"] is True and again["enrolled"] == [], again

        all_completed(store, 2, timeout=60)
        assert [m["subject"] for m in api.messages("erin")] == ["Hello erin", "Hello again"]
        assert [m["subject"] for m in api.messages("dana")] == ["Welcome to VIP, dana"]
        assert len(store.events("erin-signup")) == len(store.events("dana-vip")) == 1
        assert sorted(e["journey_id"] for e in store.enrollments()) == ["nap", "vip"]
        assert worker.running and worker.terminate() == 0, worker.log_tail()
    finally:
        temporal.stop()
