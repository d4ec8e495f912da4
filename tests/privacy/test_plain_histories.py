"""Histories recorded before payloads were encrypted replay on a worker that encrypts: in-flight enrollments keep working."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from orchestrator.privacy.payload_codec import encrypting_converter
from orchestrator.runtime.workflow import JourneyWorkflow
from tests.keys import PAYLOAD_KEYS

HISTORIES = Path(__file__).parents[1] / "histories"


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("name", ["tour", "continue_as_new.run2", "findable"])
async def test_a_plain_history_replays_with_the_codec(name: str) -> None:
    history = WorkflowHistory.from_json(name, (HISTORIES / f"{name}.json").read_text(encoding="utf-8"))
    replayer = Replayer(workflows=[JourneyWorkflow], data_converter=encrypting_converter(PAYLOAD_KEYS))
    await replayer.replay_workflow(history)
