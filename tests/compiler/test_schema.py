"""The journey JSON Schema is itself valid, has no dead definitions, and accepts every shipped journey.

Editors validate journeys with the schema alone (yaml-language-server), so the
shipped examples must pass plain jsonschema, not only the compiler.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from orchestrator.compiler.yaml_loader import load_yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "schemas" / "journey.schema.json"
JOURNEYS = sorted((ROOT / "journeys").glob("*.yaml"))


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def test_schema_is_a_valid_draft_2020_12_schema(schema: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_def_is_referenced(schema: dict[str, Any]) -> None:
    referenced = {ref.removeprefix("#/$defs/") for ref in refs(schema)}
    assert set(schema["$defs"]) - referenced == set()


def test_every_ref_points_to_a_def(schema: dict[str, Any]) -> None:
    for ref in refs(schema):
        assert ref.startswith("#/$defs/"), ref
        assert ref.removeprefix("#/$defs/") in schema["$defs"], ref


def test_there_are_journeys_to_check() -> None:
    assert JOURNEYS, "journeys/*.yaml not found"


@pytest.mark.parametrize("path", JOURNEYS, ids=[p.name for p in JOURNEYS])
def test_shipped_journey_validates_with_plain_jsonschema(schema: dict[str, Any], path: Path) -> None:
    document, problems = load_yaml(path.read_text(encoding="utf-8"))
    assert problems == []
    errors = sorted(Draft202012Validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors)
