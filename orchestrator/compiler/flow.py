"""Control-flow rules: step ids, `next` targets, reachability and loops that never wait."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from orchestrator.compiler.source import JourneySource, mapping, step_kind, text
from orchestrator.ir import END

FALLS_THROUGH = frozenset({"send", "wait", "wait_for", "update", "webhook"})
WAITS = frozenset({"wait", "wait_for"})


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    path: tuple[str | int, ...]
    """Where the reference is written (the step's id for an implicit fall-through)."""


def edges(source: JourneySource) -> list[Edge]:
    """Every transition in the journey, including implicit fall-through to the following step."""
    steps = source.steps()
    result: list[Edge] = []
    for position, (index, step) in enumerate(steps):
        step_id = text(step.get("id"))
        kind = step_kind(step)
        if step_id is None or kind is None:
            continue
        base: tuple[str | int, ...] = ("steps", index)
        if kind in FALLS_THROUGH:
            explicit = text(step.get("next"))
            if explicit is not None:
                result.append(Edge(step_id, explicit, (*base, "next")))
            else:
                following = text(steps[position + 1][1].get("id")) if position + 1 < len(steps) else END
                result.append(Edge(step_id, following or END, (*base, "id")))
        if kind == "wait_for":
            timeout = text(mapping(step.get("wait_for")).get("timeout_next"))
            if timeout is not None:
                result.append(Edge(step_id, timeout, (*base, "wait_for", "timeout_next")))
        if kind == "branch" and isinstance(step.get("branch"), list):
            for n, item in enumerate(step["branch"]):
                item = mapping(item)
                for key in ("next", "else"):
                    target = text(item.get(key))
                    if target is not None:
                        result.append(Edge(step_id, target, (*base, "branch", n, key)))
        if kind == "split" and isinstance(mapping(step.get("split")).get("paths"), list):
            for n, path in enumerate(step["split"]["paths"]):
                target = text(mapping(path).get("next"))
                if target is not None:
                    result.append(Edge(step_id, target, (*base, "split", "paths", n, "next")))
    return result


def check_flow(source: JourneySource) -> None:
    _check_step_ids(source)
    _check_next_allowed(source)
    ids = source.step_ids()
    all_edges = edges(source)
    _check_targets(source, all_edges, ids)
    _check_reachable(source, all_edges, ids)
    _check_loops(source, all_edges, ids)


def _check_step_ids(source: JourneySource) -> None:
    first_seen: dict[str, int] = {}
    for index, step in source.steps():
        step_id = text(step.get("id"))
        if step_id is None:
            continue
        if step_id == END:
            source.report(("steps", index, "id"), "invalid-id", "'end' is reserved (it means: end the enrollment); choose another id")
        elif step_id in first_seen:
            line = source.document["steps"].item_locs[first_seen[step_id]].line
            source.report(
                ("steps", index, "id"),
                "duplicate-step-id",
                f"step id '{step_id}' is already used by the step at line {line}; step ids must be unique",
            )
        else:
            first_seen[step_id] = index


def _check_next_allowed(source: JourneySource) -> None:
    for index, step in source.steps():
        kind = step_kind(step)
        if "next" in step and kind is not None and kind not in FALLS_THROUGH:
            where = "ends the enrollment" if kind == "exit" else f"chooses where to go in its own `{kind}` items"
            source.report(
                ("steps", index, "next"),
                "next-not-allowed",
                f"a {kind} step {where}, so `next` here would be ignored; remove it",
                on_key=True,
            )


def _check_targets(source: JourneySource, all_edges: list[Edge], ids: dict[str, int]) -> None:
    for edge in all_edges:
        if edge.target == END or edge.target in ids:
            continue
        hint = difflib.get_close_matches(edge.target, list(ids), n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else "; use a step id from this journey or `end`"
        source.report(edge.path, "unknown-target", f"no step named '{edge.target}'{suggestion}")


def _check_reachable(source: JourneySource, all_edges: list[Edge], ids: dict[str, int]) -> None:
    if not ids:
        return
    successors: dict[str, list[str]] = {}
    for edge in all_edges:
        successors.setdefault(edge.source, []).append(edge.target)
    first = next(iter(ids))
    seen = {first}
    stack = [first]
    while stack:
        for target in successors.get(stack.pop(), ()):
            if target in ids and target not in seen:
                seen.add(target)
                stack.append(target)
    for step_id, index in ids.items():
        if step_id not in seen:
            source.report(
                ("steps", index, "id"),
                "unreachable-step",
                f"step '{step_id}' can never run: no step leads to it; point a `next` at it or remove it",
            )


def _check_loops(source: JourneySource, all_edges: list[Edge], ids: dict[str, int]) -> None:
    """A cycle that passes no wait would spin forever without pause, so it is an error."""
    kinds = {text(step.get("id")): step_kind(step) for _, step in source.steps()}
    successors: dict[str, list[Edge]] = {}
    for edge in all_edges:
        if kinds.get(edge.source) not in WAITS and edge.target in ids and kinds.get(edge.target) not in WAITS:
            successors.setdefault(edge.source, []).append(edge)
    reported: set[frozenset[str]] = set()
    # Iterative DFS: an edge to a step still on the stack closes a loop.
    state: dict[str, int] = {}  # 1: on the current path, 2: fully explored
    for root in ids:
        path: list[str] = []
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node, child = stack.pop()
            if child == 0:
                if state.get(node) == 2:
                    continue
                state[node] = 1
                path.append(node)
            outgoing = successors.get(node, [])
            if child < len(outgoing):
                stack.append((node, child + 1))
                edge = outgoing[child]
                if state.get(edge.target) == 1:
                    loop = path[path.index(edge.target) :]
                    key = frozenset(loop)
                    if key not in reported:
                        reported.add(key)
                        cycle = " -> ".join([*loop, edge.target])
                        source.report(
                            edge.path,
                            "loop-without-wait",
                            f"steps {cycle} loop without a wait, so an enrollment would spin forever; "
                            "put a wait or wait_for inside the loop",
                        )
                elif state.get(edge.target) is None:
                    stack.append((edge.target, 0))
            else:
                state[node] = 2
                path.pop()
