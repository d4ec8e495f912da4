"""What Temporal holds of a customer: ciphertext in every payload, keys in ids and search attributes, nothing in clear.

Runs on the real dev server. The enrollment is started as `journey api` starts one: the
client comes from `TemporalSettings.connect` (with payload keys), the workflow id and
`CustomerId` from the router under the hash secret. The history is then fetched raw, by a
client without the codec, as anyone with access to the server, its database or the UI reads it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from orchestrator.api import ApiSettings, create_app
from orchestrator.compiler import compile_text
from orchestrator.host.binaries import temporal_cli
from orchestrator.host.deployment import deploy
from orchestrator.host.devserver import free_port
from orchestrator.host.devstack import EmbeddedServer
from orchestrator.host.temporal_connection import TemporalSettings
from orchestrator.host.worker import build_worker
from orchestrator.routing.calls import TrackCall
from orchestrator.routing.gateway import LoopGateway
from orchestrator.routing.router import Router
from orchestrator.runtime.contracts import EVENT_SIGNAL, STATUS_QUERY, EnrollmentResult, EnrollmentStatus, EventMessage
from orchestrator.runtime.search_attributes import SEARCH_ATTRIBUTES
from orchestrator.store import Store
from tests.keys import CUSTOMER_KEYS, HASH_SECRET, PAYLOAD_KEYS

STREET = "221B Baker Street"
SSN = "078-05-1120"
API_KEY = "codec-test-key"

ADDRESS_UPDATE = """\
id: address_update
name: Address update
trigger: {event: address_changed}
steps:
  - id: confirm
    send: {channel: email, category: transactional, subject: "New address", body: "We will ship to {{ event.street }}."}
  - id: answer
    wait_for: {event: confirmed}
  - id: thanks
    send: {channel: email, category: transactional, subject: "Thanks", body: "Noted."}
"""


def payload_data(output: str) -> list[str]:
    """The `data` of every payload in the JSON of `temporal workflow show -o json`, base64-decoded."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("data"), str) and "metadata" in node:
                found.append(base64.b64decode(node["data"]).decode(errors="replace"))
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    with contextlib.suppress(ValueError):  # an error message instead of JSON: nothing decoded
        walk(json.loads(output))
    return found


async def waits_at(handle: WorkflowHandle[object, object], step: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(RPCError):  # no worker has polled yet
            if (await handle.query(STATUS_QUERY, result_type=EnrollmentStatus)).step == step:
                return
        assert time.monotonic() < deadline, f"the enrollment never waited at {step}"
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def enrolled(temporal: Client, store: Store, tmp_path: Path) -> AsyncIterator[tuple[Client, str, str]]:
    """A worker and a router on an encrypting client; a customer whose id is an e-mail address (returned, with the
    workflow id) enrolled by a track call with personal properties. The server is the module's: a new address each time."""
    email = f"ann.{uuid.uuid4().hex[:8]}@example.com"
    settings = TemporalSettings(address=temporal.service_client.config.target_host, payload_keys=PAYLOAD_KEYS)
    client = await settings.connect()
    queue = f"encrypted-{uuid.uuid4().hex[:8]}"
    result = compile_text(ADDRESS_UPDATE, file="address_update.yaml", directory=tmp_path)
    assert result.journey is not None, result.diagnostics
    await deploy(store, client, [result.journey], task_queue=queue)
    now = datetime.now(UTC)
    with store.session() as session:
        session.identify(email, {"email": email, "first_name": "Ann"}, now)
    router = Router(store, LoopGateway(client, asyncio.get_running_loop(), task_queue=queue), hash_secret=HASH_SECRET)
    async with build_worker(client, store, hash_secret=HASH_SECRET, task_queue=queue):
        call = TrackCall(email, "address_changed", {"street": STREET, "ssn": SSN}, f"m-{uuid.uuid4()}", now, now)
        (workflow_id,) = (await asyncio.to_thread(router.track, call)).enrolled
        await waits_at(client.get_workflow_handle(workflow_id), "answer")
        yield client, workflow_id, email


async def test_a_new_enrollments_history_holds_no_personal_data_in_clear(temporal: Client, store: Store, tmp_path: Path) -> None:
    async with enrolled(temporal, store, tmp_path) as (client, workflow_id, email):
        raw = temporal.get_workflow_handle(workflow_id)  # no codec: what the server and its database hold
        history = History(events=(await raw.fetch_history()).events).SerializeToString()
        attributes = (await raw.describe()).typed_search_attributes
        shown = [workflow_id, *(str(attributes.get(key)) for key in SEARCH_ATTRIBUTES)]
        assert workflow_id == CUSTOMER_KEYS.enrollment_id("address_update", email, 1)
        for value in (email, STREET, SSN):
            assert value.encode() not in history, f"{value!r} is in the history in clear"
            assert not any(value in text for text in shown)
        # The keys read it all back: the trigger's properties are in the workflow's input.
        started = (await client.get_workflow_handle(workflow_id).fetch_history()).events[0]
        (input_,) = await client.data_converter.decode(started.workflow_execution_started_event_attributes.input.payloads)
        assert input_["customer_id"] == email and input_["trigger"]["properties"] == {"street": STREET, "ssn": SSN}


async def test_temporal_workflow_show_decodes_through_the_apis_codec_endpoint_for_an_api_key(
    temporal: Client, store: Store, tmp_path: Path
) -> None:
    async with enrolled(temporal, store, tmp_path) as (client, workflow_id, email):
        personal = (email, STREET, SSN)
        app = create_app(
            store,
            client,
            api_keys=frozenset({API_KEY}),
            hash_secret=HASH_SECRET,
            task_queue="unused",
            search_attributes=True,
            settings=ApiSettings(payload_keys=PAYLOAD_KEYS),
        )
        port = free_port()
        server = EmbeddedServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        try:

            async def show(*codec: str) -> str:
                """What `temporal workflow show` prints, with every payload's data (base64 in its JSON) decoded too."""
                command = [temporal_cli(), "workflow", "show", "-w", workflow_id, "-o", "json"]
                command += ["--address", temporal.service_client.config.target_host, *codec]
                process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
                output, _ = await process.communicate()
                return output.decode() + "\n".join(payload_data(output.decode()))

            endpoint = ["--codec-endpoint", f"http://127.0.0.1:{port}/v1/codec"]
            decoded = await show(*endpoint, "--codec-auth", f"Bearer {API_KEY}")
            assert all(value in decoded for value in personal), decoded[:2000]
            for shown in (await show(), await show(*endpoint, "--codec-auth", "Bearer not-a-key")):
                assert not any(value in shown for value in personal), shown[:2000]
        finally:
            server.should_exit = True
            await serving


async def test_an_enrollment_started_with_plain_payloads_runs_on_after_encryption_is_turned_on(
    temporal: Client, store: Store, tmp_path: Path
) -> None:
    """In-flight enrollments of before the upgrade: a history of plain payloads, continued by an encrypting worker."""
    async with enrolled(temporal, store, tmp_path) as (client, workflow_id, _):
        started = (await client.get_workflow_handle(workflow_id).fetch_history()).events[0].workflow_execution_started_event_attributes
        plain_input = (await client.data_converter.decode(started.input.payloads))[0]
        queue = started.task_queue.name
        before = f"{workflow_id}-plain"
        # Started as the product did before it had keys: the same input, no codec.
        await temporal.start_workflow("JourneyWorkflow", plain_input | {"enrollment_id": before}, id=before, task_queue=queue)
        await waits_at(client.get_workflow_handle(before), "answer")
        handle = client.get_workflow_handle(before, result_type=EnrollmentResult)
        await handle.signal(EVENT_SIGNAL, EventMessage("m-confirmed", "confirmed"))
        result = await handle.result()
        assert (result.status, result.step) == ("completed", "thanks")
