"""Load journey YAML into plain dicts and lists that remember where each node sits.

Journey files are read with YAML 1.2 core-schema rules rather than PyYAML's
YAML 1.1 defaults, because the 1.1 rules silently corrupt the values marketers
write: `at: 10:00` would become the integer 600 (base 60), `no` would become
False and `2026-12-01` a date object that is not JSON. Here only `true`/`false`
are booleans, only plain decimal/hex/octal digits are integers, and dates and
times stay text for the compiler to check.

Parsing itself runs in libyaml (CSafeLoader) when it is available: locations
come from the parser's marks, so tracking them costs almost nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Loc:
    """A 1-based position in a source file; `style` is the YAML scalar style ('', '|', '>', '"', "'")."""

    line: int
    column: int
    style: str = ""


class LocDict(dict[str, Any]):
    """A mapping that knows where it, each key and each value sit in the file."""

    loc: Loc
    key_locs: dict[str, Loc]
    value_locs: dict[str, Loc]


class LocList(list[Any]):
    """A sequence that knows where it and each item sit in the file."""

    loc: Loc
    item_locs: list[Loc]


@dataclass(frozen=True)
class YamlProblem:
    loc: Loc
    rule: str
    message: str


class YamlSyntaxError(Exception):
    def __init__(self, problem: YamlProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _loc(node: Node) -> Loc:
    style = getattr(node, "style", None) or ""
    return Loc(node.start_mark.line + 1, node.start_mark.column + 1, style)


class _JourneyLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    problems: list[YamlProblem]


# YAML 1.2 core schema: replace the YAML 1.1 implicit resolvers wholesale.
_JourneyLoader.yaml_implicit_resolvers = {}
_IMPLICIT = [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)$",
        "-+.0123456789",
    ),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
]
for _tag, _pattern, _first in _IMPLICIT:
    _JourneyLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _construct_int(loader: _JourneyLoader, node: ScalarNode) -> int:
    text = str(node.value)
    if text.startswith(("0o", "0x")):
        return int(text, 0)
    return int(text, 10)


def _construct_float(loader: _JourneyLoader, node: ScalarNode) -> float:
    return float(str(node.value))


def _construct_mapping(loader: _JourneyLoader, node: MappingNode) -> Iterator[LocDict]:
    result = LocDict()
    result.loc = _loc(node)
    result.key_locs = {}
    result.value_locs = {}
    yield result
    seen: dict[Any, Loc] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        if isinstance(key_node, ScalarNode):
            first = seen.get(key_node.value)
            if first is not None:
                loader.problems.append(
                    YamlProblem(
                        _loc(key_node),
                        "duplicate-key",
                        f"duplicate key '{key_node.value}' (first defined at line {first.line}); "
                        "YAML would silently keep only the last one, so remove or rename one of them",
                    )
                )
            else:
                seen[key_node.value] = _loc(key_node)
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            loader.problems.append(YamlProblem(_loc(key_node), "key-type", f"key {key!r} must be text; quote it"))
            continue
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_locs[key] = _loc(key_node)
        result.value_locs[key] = _loc(value_node)


def _construct_sequence(loader: _JourneyLoader, node: SequenceNode) -> Iterator[LocList]:
    result = LocList()
    result.loc = _loc(node)
    result.item_locs = [_loc(child) for child in node.value]
    yield result
    result.extend(loader.construct_object(child, deep=True) for child in node.value)


def _construct_str(loader: _JourneyLoader, node: ScalarNode) -> str:
    return str(node.value)


_JourneyLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_JourneyLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
_JourneyLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_JourneyLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
# Explicit tags that YAML 1.1 would turn into non-JSON values stay text.
_JourneyLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_str)
_JourneyLoader.add_constructor("tag:yaml.org,2002:binary", _construct_str)


def load_yaml(text: str) -> tuple[Any, list[YamlProblem]]:
    """Parse one YAML document. Raises YamlSyntaxError for text that is not YAML."""
    loader = _JourneyLoader(text)
    loader.problems = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Loc(mark.line + 1, mark.column + 1) if mark else Loc(1, 1)
        parts = [p for p in (exc.context, exc.problem) if p]
        raise YamlSyntaxError(YamlProblem(loc, "yaml-syntax", "invalid YAML: " + ", ".join(parts))) from exc
    except yaml.constructor.ConstructorError as exc:  # pragma: no cover - marked errors cover it
        raise YamlSyntaxError(YamlProblem(Loc(1, 1), "yaml-syntax", f"invalid YAML: {exc}")) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(YamlProblem(Loc(1, 1), "yaml-syntax", f"invalid YAML: {exc}")) from exc
    finally:
        loader.dispose()
    return data, loader.problems


def locate(root: Any, path: tuple[str | int, ...], *, key: bool = False) -> Loc | None:
    """Position of the node at `path` (of its key, with `key=True`), or of its nearest ancestor."""
    node = root
    best: Loc | None = getattr(root, "loc", None)
    for index, part in enumerate(path):
        last = index == len(path) - 1
        if isinstance(node, LocDict) and isinstance(part, str) and part in node:
            best = node.key_locs[part] if (last and key) else node.value_locs[part]
            node = node[part]
        elif isinstance(node, LocList) and isinstance(part, int) and 0 <= part < len(node):
            best = node.item_locs[part]
            node = node[part]
        else:
            break
    return best
