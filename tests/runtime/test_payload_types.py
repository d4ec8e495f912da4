"""The deployment's data converter decodes every payload as Temporal's own does, resolving each dataclass's hints once."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest
import temporalio.converter._payload_converter as temporal_json
from temporalio.converter import DataConverter

from orchestrator import ir
from orchestrator.host.temporal_connection import TemporalSettings
from orchestrator.runtime.cohort_contracts import CohortInput, CohortMember, FinishBatch, SendBatch
from orchestrator.runtime.contracts import EventMessage, FinishRequest, ProgressFact, ResumeState, SendRequest, TrailEntry
from orchestrator.runtime.payload_types import JOURNEY_DATA_CONVERTER

STEP = ir.SendStep(id="hello", channel="email", next="end", subject="Hi {{ customer.first_name }}", body="<p>Sale</p>")
SETTINGS = ir.Settings(timezone="Europe/Paris", quiet_hours=ir.QuietHours("21:00", "08:00"), frequency_cap=ir.FrequencyCap(3, 86400))


def sends(count: int) -> SendBatch:
    at = "2026-11-27T15:00:00+00:00"
    return SendBatch([SendRequest(f"e-{n}", "sale", "v1", 1, f"c-{n}", STEP, SETTINGS, {"cart": 42.5, "n": n}, at) for n in range(count)])


def cohort() -> CohortInput:
    resume = ResumeState("nap", "2026-11-27T15:00:00+00:00", {"nap": 1}, [EventMessage("m-1", "opened", {"x": [1, 2]}, "t")], ["m-0"],
                         [TrailEntry("nap", "t")], waiting=True, wait_until="2026-11-28T15:00:00+00:00")
    members = [CohortMember("c-1", "e-1"), CohortMember("c-2", "e-2", EventMessage("m-2", "go", {}, "t"), resume)]
    return CohortInput({"id": "sale", "steps": [{"kind": "wait", "seconds": 86400}]}, "cohort-sale-r-0", members, revision=4, run_key="r")


def ends() -> FinishBatch:
    facts = [ProgressFact("reached", "hello", "t"), ProgressFact("rested", "nap", "t", visit=2, name=None)]
    return FinishBatch([FinishRequest("e-1", "exited", "nap", "t", "c-1", "broadcast cancelled", "sale", "v1", facts)])


@pytest.mark.parametrize("value", [sends(3), cohort(), ends()], ids=["sends", "cohort", "ends"])
def test_payloads_decode_as_temporals_own_converter_decodes_them(value: Any) -> None:
    payloads = DataConverter.default.payload_converter.to_payloads([value])
    ours = JOURNEY_DATA_CONVERTER.payload_converter.from_payloads(payloads, [type(value)])[0]
    theirs = DataConverter.default.payload_converter.from_payloads(payloads, [type(value)])[0]
    assert ours == theirs == value


@dataclasses.dataclass
class Numbers:
    whole: int
    either: int | bool
    real: float
    maybe: str | None = None


def test_numbers_and_missing_fields_decode_as_temporal_decodes_them() -> None:
    payloads = DataConverter.default.payload_converter.to_payloads([{"whole": 1, "either": True, "real": 2, "unknown": "x"}])
    ours = JOURNEY_DATA_CONVERTER.payload_converter.from_payloads(payloads, [Numbers])[0]
    theirs = DataConverter.default.payload_converter.from_payloads(payloads, [Numbers])[0]
    assert ours == theirs
    assert (type(ours.either), type(ours.real)) == (type(theirs.either), type(theirs.real))


def test_a_field_of_the_wrong_type_is_refused_as_temporal_refuses_it() -> None:
    payloads = DataConverter.default.payload_converter.to_payloads([{"whole": "one", "either": 1, "real": 2.0}])
    with pytest.raises(TypeError, match="field whole"):
        JOURNEY_DATA_CONVERTER.payload_converter.from_payloads(payloads, [Numbers])


def test_a_workers_converter_resolves_each_dataclass_s_type_hints_once_however_many_requests_a_batch_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolved: list[type] = []
    real = typing.get_type_hints

    def counted(cls: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        resolved.append(cls)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(typing, "get_type_hints", counted)
    monkeypatch.setattr(temporal_json, "get_type_hints", counted)
    converter = TemporalSettings(address="localhost:7233").data_converter().payload_converter
    payloads = DataConverter.default.payload_converter.to_payloads([sends(50)])

    assert converter.from_payloads(payloads, [SendBatch])[0] == sends(50)
    assert converter.from_payloads(payloads, [SendBatch])[0] == sends(50)
    assert len(resolved) == len(set(resolved)) <= 4  # SendBatch, SendRequest, SendStep, Settings (and what they hold)
