"""Load journey YAML into plain dicts and lists that remember where each node sits.

Journey files are read with YAML 1.2 core-schema rules rather than PyYAML's
YAML 1.1 defaults, because the 1.1 rules silently corrupt the values marketers
write: `at: 10:00` would become the integer 600 (base 60), `no` would become
False and `2026-12-01` a date object that is not JSON. Here only `true`/`false`
are booleans, only plain decimal/hex/octal digits are integers, and dates and
times stay text for the compiler to check.

Parsing runs in libyaml (CSafeLoader) when it is available; values are built
straight from its events, whose marks give every location for free.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

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


_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+")
_INT_PREFIXED = re.compile(r"0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_NUMBER_START = frozenset("-+.0123456789")
_STR_TAG = "tag:yaml.org,2002:str"
_EXPLICIT: dict[str, Any] = {
    "tag:yaml.org,2002:int": lambda v: int(v, 0) if _INT_PREFIXED.fullmatch(v) else int(v, 10),
    "tag:yaml.org,2002:float": float,
    "tag:yaml.org,2002:bool": lambda v: _BOOLS[v],
    "tag:yaml.org,2002:null": lambda v: None,
}


def _plain_scalar(value: str) -> Any:
    """YAML 1.2 core schema resolution of an untagged plain scalar."""
    if value in _NULLS:
        return None
    if value in _BOOLS:
        return _BOOLS[value]
    if value[0] in _NUMBER_START:
        if _INT.fullmatch(value):
            return int(value, 10)
        if _INT_PREFIXED.fullmatch(value):
            return int(value, 0)
        if _FLOAT.fullmatch(value):
            return float(value)
    return value


def _mark_loc(mark: Any, style: str = "") -> Loc:
    return Loc(mark.line + 1, mark.column + 1, style)


class _Frame:
    """A mapping or sequence under construction, with the key waiting for its value."""

    __slots__ = ("container", "key", "key_loc", "merges")

    def __init__(self, container: LocDict | LocList) -> None:
        self.container = container
        self.key: Any = _NO_KEY
        self.key_loc = Loc(0, 0)
        self.merges: list[Any] = []


_NO_KEY = object()
_MERGE = object()
_BAD_KEY = object()


class _Builder:
    """Builds LocDict/LocList values straight from libyaml's event stream.

    Building from events (instead of PyYAML's compose-then-construct) halves
    the load time, which dominates `journey validate` on large folders.
    """

    def __init__(self) -> None:
        self.problems: list[YamlProblem] = []
        self.anchors: dict[str, Any] = {}
        self.open_anchors: set[str] = set()
        self.stack: list[_Frame] = []
        self.root: Any = None

    def add(self, value: Any, loc: Loc, *, is_key_text: bool = False) -> None:
        if not self.stack:
            self.root = value
            return
        frame = self.stack[-1]
        container = frame.container
        if isinstance(container, LocList):
            container.append(value)
            container.item_locs.append(loc)
            return
        if frame.key is _NO_KEY:
            if value == "<<" and is_key_text:
                frame.key = _MERGE
            elif isinstance(value, str):
                frame.key = value
                if value in container.key_locs:
                    first = container.key_locs[value]
                    self.problems.append(
                        YamlProblem(
                            loc,
                            "duplicate-key",
                            f"duplicate key '{value}' (first defined at line {first.line}); "
                            "YAML would silently keep only the last one, so remove or rename one of them",
                        )
                    )
            else:
                shown = "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) else repr(value)
                self.problems.append(YamlProblem(loc, "key-type", f"key {shown} must be text; quote it"))
                frame.key = _BAD_KEY
            frame.key_loc = loc
            return
        key = frame.key
        frame.key = _NO_KEY
        if key is _MERGE:
            frame.merges.append(value)
        elif key is not _BAD_KEY:
            container[key] = value
            container.key_locs[key] = frame.key_loc
            container.value_locs[key] = loc

    def end_mapping(self, frame: _Frame) -> None:
        mapping = frame.container
        assert isinstance(mapping, LocDict)
        for source in frame.merges:
            for merged in source if isinstance(source, list) else [source]:
                if not isinstance(merged, LocDict):
                    self.problems.append(YamlProblem(mapping.loc, "yaml-syntax", "a `<<` merge key needs a mapping or a list of mappings"))
                    continue
                for key, value in merged.items():
                    if key not in mapping:
                        mapping[key] = value
                        mapping.key_locs[key] = merged.key_locs[key]
                        mapping.value_locs[key] = merged.value_locs[key]


MAX_DEPTH = 64
"""Deepest nesting accepted; a journey needs about ten levels (a webhook body inside a step)."""
MAX_VALUES = 200_000
"""Most values a file may expand to through aliases: a few lines of nested aliases can otherwise
expand to billions of values ("billion laughs") and stall every later stage."""


def _build(loader: Any) -> tuple[Any, list[YamlProblem]]:
    builder = _Builder()
    documents = 0
    anchor_of: list[tuple[str | None, int]] = []
    anchor_sizes: dict[str, int] = {}
    values = 0  # values in the document once every alias is expanded
    while True:
        event = loader.get_event()
        kind = event.__class__
        if kind is yaml.ScalarEvent or kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent or kind is yaml.AliasEvent:
            values += anchor_sizes.get(event.anchor, 0) if kind is yaml.AliasEvent else 1
            if values > MAX_VALUES:
                raise YamlSyntaxError(
                    YamlProblem(
                        _mark_loc(event.start_mark),
                        "yaml-syntax",
                        f"the YAML expands to more than {MAX_VALUES:,} values through aliases; a journey never needs that many",
                    )
                )
        if kind is yaml.ScalarEvent:
            value = event.value
            tag = event.tag
            if tag is None or tag == "!":
                text_key = event.implicit[0]
                resolved = _plain_scalar(value) if text_key else value
            elif tag == _STR_TAG:
                text_key = False
                resolved = value
            else:
                text_key = False
                convert = _EXPLICIT.get(tag)
                try:
                    resolved = convert(value) if convert else value
                except (ValueError, KeyError):
                    raise YamlSyntaxError(
                        YamlProblem(_mark_loc(event.start_mark), "yaml-syntax", f"'{value}' is not a valid {tag}")
                    ) from None
            if isinstance(resolved, float) and not math.isfinite(resolved):
                raise YamlSyntaxError(
                    YamlProblem(
                        _mark_loc(event.start_mark), "yaml-syntax", f"'{value}' is not a finite number; JSON has no infinity or NaN"
                    )
                )
            if event.anchor:
                builder.anchors[event.anchor] = resolved
                anchor_sizes[event.anchor] = 1
            builder.add(resolved, _mark_loc(event.start_mark, event.style or ""), is_key_text=text_key)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            loc = _mark_loc(event.start_mark)
            container: LocDict | LocList
            if kind is yaml.MappingStartEvent:
                container = LocDict()
                container.key_locs = {}
                container.value_locs = {}
            else:
                container = LocList()
                container.item_locs = []
            container.loc = loc
            builder.add(container, loc)
            builder.stack.append(_Frame(container))
            if len(builder.stack) > MAX_DEPTH:
                raise YamlSyntaxError(YamlProblem(loc, "yaml-syntax", f"the YAML nests more than {MAX_DEPTH} levels deep; flatten it"))
            anchor_of.append((event.anchor, values))
            if event.anchor:
                builder.open_anchors.add(event.anchor)
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            frame = builder.stack.pop()
            if kind is yaml.MappingEndEvent:
                builder.end_mapping(frame)
            anchor, values_before = anchor_of.pop()
            if anchor:
                anchor_sizes[anchor] = values - values_before + 1
                builder.anchors[anchor] = frame.container
                builder.open_anchors.discard(anchor)
        elif kind is yaml.AliasEvent:
            loc = _mark_loc(event.start_mark)
            if event.anchor in builder.open_anchors:
                raise YamlSyntaxError(YamlProblem(loc, "yaml-syntax", f"alias *{event.anchor} refers to a node that contains it"))
            if event.anchor not in builder.anchors:
                raise YamlSyntaxError(YamlProblem(loc, "yaml-syntax", f"alias *{event.anchor} has no anchor &{event.anchor} before it"))
            builder.add(builder.anchors[event.anchor], loc, is_key_text=False)
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise YamlSyntaxError(
                    YamlProblem(
                        _mark_loc(event.start_mark),
                        "yaml-syntax",
                        "the file holds more than one YAML document (---); a journey file holds exactly one",
                    )
                )
        elif kind is yaml.StreamEndEvent:
            return builder.root, builder.problems


def load_yaml(text: str) -> tuple[Any, list[YamlProblem]]:
    """Parse one YAML document. Raises YamlSyntaxError for text that is not YAML."""
    loader = _BaseLoader(text)
    try:
        return _build(loader)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        character = exc.character if isinstance(exc.character, str) else chr(exc.character)
        message = f"character U+{ord(character):04X} is not allowed in YAML text; remove it"
        raise YamlSyntaxError(YamlProblem(Loc(line, column), "yaml-syntax", message)) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Loc(mark.line + 1, mark.column + 1) if mark else Loc(1, 1)
        parts = [p for p in (exc.context, exc.problem) if p]
        raise YamlSyntaxError(YamlProblem(loc, "yaml-syntax", "invalid YAML: " + ", ".join(parts))) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(YamlProblem(Loc(1, 1), "yaml-syntax", f"invalid YAML: {exc}")) from exc
    finally:
        loader.dispose()


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
