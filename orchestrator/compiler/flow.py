"""Control-flow rules: step ids, `next` targets, reachability and loops that never wait."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from orchestrator.compiler.source import JourneySource, text
from orchestrator.compiler.steps import Edge, StepKind, kind_of
from orchestrator.compiler.yaml_loader import LocDict
from orchestrator.ir import END


def edges(source: JourneySource) -> list[Edge]:
    """Every transition in the journey, including implicit fall-through to the following step."""
    result: list[Edge] = []
    for index, step, step_id, kind, onward in _steps(source):
        if onward is not None:
            result.append(onward)
        result.extend(kind.edges(step_id, ("steps", index, kind.name), step.get(kind.name)))
    return result


def onward_steps(source: JourneySource) -> dict[str, str]:
    """Where each step of a kind that goes on goes: its `next`, else the following step (`end` after the last)."""
    return {step_id: onward.target for step_id, onward in onward_edges(source).items()}


def onward_edges(source: JourneySource) -> dict[str, Edge]:
    """The edge on from each step of a kind that goes on (for a wait_for, the way it goes when its event comes)."""
    return {step_id: onward for _, _, step_id, _, onward in _steps(source) if onward is not None}


def _steps(source: JourneySource) -> Iterator[tuple[int, LocDict, str, StepKind[Any], Edge | None]]:
    """Each step with an id and a kind, and its edge on to the next step (None for a kind that does not go on)."""
    steps = source.steps()
    for position, (index, step) in enumerate(steps):
        step_id = text(step.get("id"))
        kind = kind_of(step)
        if step_id is None or kind is None:
            continue
        onward = None
        if kind.goes_on:
            explicit = text(step.get("next"))
            if explicit is not None:
                onward = Edge(step_id, explicit, ("steps", index, "next"))
            else:
                following = text(steps[position + 1][1].get("id")) if position + 1 < len(steps) else END
                onward = Edge(step_id, following or END, ("steps", index, "id"))
        yield index, step, step_id, kind, onward


def check_flow(source: JourneySource) -> None:
    _check_step_ids(source)
    _check_next_allowed(source)
    ids = source.step_ids()
    all_edges = edges(source)
    meant, blind = _check_targets(source, all_edges, ids)
    _check_reachable(source, meant, blind, ids)
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
        kind = kind_of(step)
        if "next" in step and kind is not None and not kind.goes_on:
            source.report(
                ("steps", index, "next"),
                "next-not-allowed",
                f"a {kind.name} step {kind.why_no_next}, so `next` here would be ignored; remove it",
                on_key=True,
            )


def _rests(step: LocDict) -> bool:
    kind = kind_of(step)
    return kind is not None and kind.rests


def _check_targets(source: JourneySource, all_edges: list[Edge], ids: dict[str, int]) -> tuple[list[Edge], set[str]]:
    """Report each target that names no step; return the edges as meant and the steps whose target cannot be guessed.

    As meant: a misspelt target read as the step it was suggested for, so the
    steps behind it are not also reported as unreachable (one mistake, one finding).
    """
    meant: list[Edge] = []
    blind: set[str] = set()
    for edge in all_edges:
        if edge.target == END or edge.target in ids:
            meant.append(edge)
            continue
        hint = difflib.get_close_matches(edge.target, list(ids), n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else "; use a step id from this journey or `end`"
        source.report(edge.path, "unknown-target", f"no step named '{edge.target}'{suggestion}")
        if hint:
            meant.append(replace(edge, target=hint[0]))
        else:
            blind.add(edge.source)
    return meant, blind


def _check_reachable(source: JourneySource, meant: list[Edge], blind: set[str], ids: dict[str, int]) -> None:
    """`blind`: steps with a target that names no step and resembles none, which may have meant any step."""
    if not ids:
        return
    successors: dict[str, list[str]] = {}
    for edge in meant:
        successors.setdefault(edge.source, []).append(edge.target)
    first = next(iter(ids))
    seen = {first}
    stack = [first]
    while stack:
        for target in successors.get(stack.pop(), ()):
            if target in ids and target not in seen:
                seen.add(target)
                stack.append(target)
    if seen & blind:
        return  # a reachable step goes to a target nobody can guess: any step may be the one it meant
    for step_id, index in ids.items():
        if step_id not in seen:
            source.report(
                ("steps", index, "id"),
                "unreachable-step",
                f"step '{step_id}' can never run: no step leads to it; point a `next` at it or remove it",
            )


def _check_loops(source: JourneySource, all_edges: list[Edge], ids: dict[str, int]) -> None:
    """A cycle that passes no wait would spin forever without pause, so it is an error."""
    rests = {text(step.get("id")): _rests(step) for _, step in source.steps()}
    successors: dict[str, list[Edge]] = {}
    for edge in all_edges:
        if not rests.get(edge.source) and edge.target in ids and not rests.get(edge.target):
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
