"""`journey simulate`'s customer file (JSON) and events file (YAML), read and checked, every problem named by file, line and field."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from orchestrator.compiler.yaml_loader import YamlSyntaxError, load_yaml, locate
from orchestrator.simulation.journey_tests import scripted_events
from orchestrator.simulation.script import ScriptedEvent
from orchestrator.simulation.script_checks import script_problems

CUSTOMER_EXAMPLE = '{"id": "c1", "email": ...} (or {"anonymous_id": "v-1", ...} for an anonymous visitor)'


class ScriptFileError(ValueError):
    """A customer or events file that cannot be simulated: its message lists every problem, one a line."""


def read_script(customer_file: Path, events_file: Path | None) -> tuple[dict[str, Any], list[ScriptedEvent]]:
    """The customer and their scripted events. Raises ScriptFileError (or OSError: a file that cannot be read)."""
    text = customer_file.read_text(encoding="utf-8")
    try:
        customer = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScriptFileError(f"{customer_file}:{exc.lineno}:{exc.colno}: {exc.msg}") from exc
    if not isinstance(customer, dict):
        raise ScriptFileError(f"{customer_file}: the customer is a JSON object such as {CUSTOMER_EXAMPLE}")
    if not any(isinstance(customer.get(key), str) and customer[key].strip() for key in ("id", "anonymous_id")):
        raise ScriptFileError(f'{customer_file}: the customer has no "id" (a non-empty string), as in {CUSTOMER_EXAMPLE}')
    items = load_events(events_file) if events_file is not None else []
    lines = []
    for problem in script_problems(customer, items):
        if problem.where[0] == "customer":
            key = str(problem.where[1])
            line, column = _json_key(text, key)
            lines.append(f"{customer_file}:{line}:{column}: {key}: {problem.message}")
        else:
            assert events_file is not None
            number, key = problem.where[1], problem.where[2]
            loc = locate(items, (number, key))
            line, column = (loc.line, loc.column) if loc else (1, 1)
            lines.append(f"{events_file}:{line}:{column}: [{number}].{key}: {problem.message}")
    if lines:
        raise ScriptFileError("\n".join(lines))
    return customer, scripted_events(items)


def load_events(path: Path) -> list[dict[str, Any]]:
    """An events file: a YAML list of {at, event, properties, user_id}, as loaded (its nodes know their lines)."""
    try:
        items, _ = load_yaml(path.read_text(encoding="utf-8"))
    except YamlSyntaxError as exc:
        raise ScriptFileError(f"{path}:{exc.problem.loc.line}:{exc.problem.loc.column}: {exc.problem.message}") from exc
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, dict) and "event" in i and "at" in i for i in items):
        raise ScriptFileError(f"{path}: events are a list of {{at: <offset>, event: <name>, properties: {{...}}}}")
    return items


def _json_key(text: str, key: str) -> tuple[int, int]:
    """Line and column of `key`'s first appearance as an object key (JSON keeps no positions once loaded)."""
    found = re.search(rf'"{re.escape(key)}"\s*:', text)
    if found is None:
        return 1, 1
    before = text[: found.start()]
    return before.count("\n") + 1, found.start() - before.rfind("\n")
