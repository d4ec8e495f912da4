"""Start checks: a namespace without the enrollments' search attributes refuses `journey worker` and `journey deploy` at start,
with the command that fixes it; `--create-search-attributes` registers them instead."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from temporalio.client import Client

from orchestrator.cli import main
from orchestrator.routing.namespace_check import check_temporal
from orchestrator.runtime.search_attributes import SEARCH_ATTRIBUTES
from orchestrator.store import Store
from tests.keys import KEYS_ENVIRONMENT
from tests.runtime.support import bare_namespace

NAMES = sorted(key.name for key in SEARCH_ATTRIBUTES)


def journey(command: str, temporal: Client, namespace: str, store: Store, *args: str) -> Result:
    env = KEYS_ENVIRONMENT | {
        "TEMPORAL_ADDRESS": temporal.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": namespace,
        "DATABASE_URL": store.url,
        "JOURNEY_PAYLOAD_KEYS": "none",
    }
    return CliRunner().invoke(main, [command, *args], env=env)


@pytest.mark.asyncio(loop_scope="session")
async def test_a_namespace_with_the_search_attributes_passes(temporal: Client) -> None:
    found = await check_temporal(temporal, search_attributes=True)
    assert (found.problems, found.created) == ([], [])


@pytest.mark.asyncio(loop_scope="session")
async def test_missing_search_attributes_are_named_with_their_fix_and_created_when_asked(temporal: Client) -> None:
    bare = await bare_namespace(temporal)

    found = await check_temporal(bare, search_attributes=True)
    (problem,) = found.problems
    assert all(name in problem for name in NAMES)
    assert "--create-search-attributes" in problem and "temporal operator search-attribute create" in problem
    assert f"--namespace {bare.namespace}" in problem
    assert (await check_temporal(bare, search_attributes=False)).ok  # TEMPORAL_SEARCH_ATTRIBUTES=false needs none

    created = await check_temporal(bare, search_attributes=True, create=True)
    assert (created.problems, created.created) == ([], NAMES)
    assert (await check_temporal(bare, search_attributes=True)).ok


@pytest.mark.asyncio(loop_scope="session")
async def test_a_namespace_that_does_not_exist_says_so(temporal: Client) -> None:
    missing = await Client.connect(temporal.service_client.config.target_host, namespace=f"nowhere-{uuid.uuid4().hex[:8]}")
    (problem,) = (await check_temporal(missing, search_attributes=True)).problems
    assert f"namespace {missing.namespace!r} does not exist" in problem and "TEMPORAL_NAMESPACE" in problem


@pytest.mark.asyncio(loop_scope="session")
async def test_worker_and_deploy_refuse_to_start_on_a_bare_namespace_until_told_to_create(
    temporal: Client, store: Store, tmp_path: Path
) -> None:
    bare = await bare_namespace(temporal)
    (tmp_path / "welcome.yaml").write_text(
        "id: welcome\nname: Welcome\ntrigger: {event: signed_up}\nsteps:\n"
        "  - id: hello\n    send: {channel: email, subject: Hi, body: Hello}\n"
    )

    worker = await asyncio.to_thread(journey, "worker", temporal, bare.namespace, store)
    assert worker.exit_code == 2, worker.output
    assert "journey worker cannot start" in worker.output and "CustomerId" in worker.output
    refused = await asyncio.to_thread(journey, "deploy", temporal, bare.namespace, store, str(tmp_path))
    assert refused.exit_code == 2 and "journey deploy cannot start" in refused.output
    with store.read() as session:
        assert session.active_journeys() == []  # nothing deployed

    deployed = await asyncio.to_thread(journey, "deploy", temporal, bare.namespace, store, str(tmp_path), "--create-search-attributes")
    assert deployed.exit_code == 0, deployed.output
    assert (await check_temporal(bare, search_attributes=True)).ok
