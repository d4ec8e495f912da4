"""The registry of step kinds (orchestrator/compiler/steps/): it matches the schema and the IR, and a step of no kind
is an error wherever it shows up, never a silent default."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest

from orchestrator import ir
from orchestrator.compiler import compile_text
from orchestrator.compiler.diagram import to_mermaid
from orchestrator.compiler.lower import lower
from orchestrator.compiler.schema import journey_schema
from orchestrator.compiler.source import JourneySource
from orchestrator.compiler.steps import STEP_KINDS
from orchestrator.compiler.yaml_loader import LocDict, load_yaml

JOURNEY = """\
id: j
name: J
trigger: {event: signed_up}
steps:
  - id: hello
    send: {channel: sms, body: hi}
  - id: bye
    exit: true
"""


def test_the_registry_holds_the_kinds_the_schema_accepts_in_the_schema_order() -> None:
    written = [alternative["required"][0] for alternative in journey_schema()["$defs"]["step"]["oneOf"]]
    assert list(STEP_KINDS) == written


def test_every_ir_step_class_is_lowered_from_exactly_one_kind() -> None:
    lowered = [cls.__name__ for kind in STEP_KINDS.values() for cls in kind.lowers_to]
    assert sorted(lowered) == sorted(cls.__name__ for cls in typing.get_args(ir.Step))


@pytest.mark.parametrize("name", list(STEP_KINDS))
def test_a_kind_goes_on_exactly_when_its_ir_has_a_next_and_otherwise_says_why_next_is_ignored(name: str) -> None:
    kind = STEP_KINDS[name]
    assert kind.goes_on == all("next" in {f.name for f in dataclasses.fields(cls)} for cls in kind.lowers_to)
    assert kind.goes_on != bool(kind.why_no_next)


def test_the_kinds_that_break_a_loop_are_those_whose_every_ir_form_rests() -> None:
    assert {name for name, kind in STEP_KINDS.items() if kind.rests} == {"wait", "wait_for"}


def test_lowering_a_step_of_no_kind_raises_instead_of_making_it_an_exit(tmp_path: Path) -> None:
    text = JOURNEY.replace("    exit: true\n", "")
    document, _ = load_yaml(text)
    assert isinstance(document, LocDict)
    with pytest.raises(ValueError, match="'bye' has no kind"):
        lower(JourneySource("j.yaml", tmp_path, text, document))


def test_drawing_an_ir_step_that_no_kind_lowers_to_raises(tmp_path: Path) -> None:
    @dataclasses.dataclass(frozen=True)
    class Foreign:
        id: str = "odd"
        kind: str = "foreign"

    journey = compile_text(JOURNEY, file="j.yaml", directory=tmp_path).journey
    assert journey is not None
    with pytest.raises(TypeError, match="'odd' is a Foreign, which no step kind lowers to"):
        to_mermaid(dataclasses.replace(journey, steps=(*journey.steps, Foreign())))  # type: ignore[arg-type]
