"""`journey api` as a real process (uvicorn, its own loop and Temporal client), driven by `journey send`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from temporalio.client import Client

from orchestrator.cli import main
from orchestrator.host.devserver import free_port
from orchestrator.host.worker import build_worker
from orchestrator.privacy.payload_codec import encrypting_converter
from orchestrator.store import Store
from tests.api.support import API_KEY, QUICK_CART, compiled, eventually
from tests.keys import HASH_SECRET, KEYS_ENVIRONMENT, PAYLOAD_KEYS

pytestmark = pytest.mark.asyncio(loop_scope="session")


def send(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["send", *args], env=env, catch_exceptions=False)


@pytest.fixture
def api_process(tmp_path: Path, temporal: Client) -> Iterator[tuple[str, Store, str]]:
    """`journey api` on a free port, against the session's Temporal server and a fresh SQLite file."""
    database = f"sqlite:///{tmp_path / 'journey.db'}"
    port = free_port()
    task_queue = f"api-process-{port}"
    env = os.environ | KEYS_ENVIRONMENT | {
        "DATABASE_URL": database,
        "JOURNEY_API_KEYS": f"other-key, {API_KEY}",
        "TEMPORAL_ADDRESS": temporal.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": task_queue,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "api", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                raise AssertionError(f"`journey api` did not start:\n{output}")
            time.sleep(0.1)
        store = Store(database)  # migrated by `journey api` on start
        yield url, store, task_queue
        store.dispose()
    finally:
        process.terminate()
        process.wait(10)


async def test_journey_send_drives_a_journey_api_process(api_process: tuple[str, Store, str], temporal: Client) -> None:
    url, store, task_queue = api_process
    with store.session() as session:
        session.deploy(compiled(QUICK_CART), datetime.now(UTC))
    key = {"JOURNEY_API_KEY": API_KEY}
    reload = await asyncio.to_thread(httpx.post, f"{url}/v1/admin/reload", headers={"Authorization": f"Bearer {API_KEY}"})
    assert [j["id"] for j in reload.json()["active"]] == ["quick_cart"]

    # The process encrypts what it starts (the variables of KEYS_ENVIRONMENT): the worker reads it with the same keys.
    encrypting = Client(temporal.service_client, namespace=temporal.namespace, data_converter=encrypting_converter(PAYLOAD_KEYS))
    async with build_worker(encrypting, store, hash_secret=HASH_SECRET, task_queue=task_queue):
        result = await asyncio.to_thread(
            send, "identify", "zoe", "--url", url, "--trait", "email=zoe@example.com", "--trait", 'country="US"', env=key
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["duplicate"] is False
        args = ["track", "zoe", "checkout_started", "--url", url, "--prop", "cart_value=42", "--properties-json", '{"currency": "EUR"}']
        result = await asyncio.to_thread(send, *args, env=key)
        assert result.exit_code == 0, result.output
        assert len(json.loads(result.output)["enrolled"]) == 1

        async def delivered() -> list[dict[str, Any]]:
            answer = await asyncio.to_thread(httpx.get, f"{url}/v1/customers/zoe/messages", headers={"Authorization": f"Bearer {API_KEY}"})
            return list(answer.json()["messages"])

        (message,) = await eventually(delivered, what="the reminder")
        assert message["body"].startswith("<p>Your cart of 42 is waiting.</p>")  # then the unsubscribe footer

    refused = await asyncio.to_thread(send, "track", "zoe", "x", "--url", url, env={"JOURNEY_API_KEY": "wrong"})
    assert refused.exit_code == 1
    assert '"error": "unauthorized"' in refused.output

    # A visitor browses, then logs in as zoe: the CLI's anonymous and alias calls.
    browsed = await asyncio.to_thread(send, "track", "v-9", "page_viewed", "--anonymous", "--url", url, env=key)
    assert browsed.exit_code == 0, browsed.output
    aliased = await asyncio.to_thread(send, "alias", "v-9", "zoe", "--url", url, env=key)
    assert aliased.exit_code == 0, aliased.output
    again = await asyncio.to_thread(send, "identify", "ann", "--anonymous-id", "v-9", "--url", url, env=key)
    assert again.exit_code == 1 and '"error": "anonymous_id_merged"' in again.output
    with store.read() as session:
        assert session.current_customer("anonymous:v-9") == "zoe"
        assert [e.name for e in session.events_for("zoe")][-2:] == ["page_viewed", "alias"]
