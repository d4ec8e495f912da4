"""Draw a compiled journey as Mermaid (renders in GitHub pull requests) or Graphviz DOT."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import assert_never

from orchestrator import ir
from orchestrator.language.timeparse import format_duration

_LABEL_LIMIT = 60
_CHANNEL_ICON = {"email": "✉", "sms": "💬", "push": "🔔"}


@dataclass(frozen=True)
class _Node:
    id: str
    label: str
    shape: str  # box | round | diamond | hexagon | stadium | note


@dataclass(frozen=True)
class _Edge:
    source: str
    target: str
    label: str = ""
    dashed: bool = False


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _LABEL_LIMIT else text[: _LABEL_LIMIT - 1] + "…"


def _trigger_label(trigger: ir.Trigger) -> str:
    match trigger:
        case ir.EventTrigger():
            return f"⚡ event: {trigger.event}" + (f"\nwhere {_short(trigger.where)}" if trigger.where else "")
        case ir.SegmentTrigger():
            return f"⚡ segment\n{_short(trigger.condition)}"
        case ir.ScheduleTrigger():
            when = f"cron {trigger.cron} ({trigger.timezone})" if trigger.cron else f"once at {trigger.at}"
            return f"⚡ schedule\n{when}"
        case _:
            assert_never(trigger)


def _step_node(step: ir.Step) -> _Node:
    match step:
        case ir.SendStep():
            detail = step.subject or step.title or step.body or ""
            channels = " → ".join((step.channel, *step.fallback))
            return _Node(step.id, f"{_CHANNEL_ICON[step.channel]} {step.id}\n{channels}: {_short(detail)}", "box")
        case ir.WaitStep():
            return _Node(step.id, f"⏱ {step.id}\nwait {format_duration(step.seconds)}", "round")
        case ir.WaitUntilStep():
            days = f" ({', '.join(step.days)})" if step.days else ""
            return _Node(step.id, f"⏱ {step.id}\nwait until {step.until} local{days}", "round")
        case ir.WaitUntilDateStep():
            shift = f" {format_duration(step.offset_seconds)}" if step.offset_seconds else ""
            at = f" at {step.at}" if step.at else ""
            yearly = ", yearly" if step.repeat else ""
            return _Node(step.id, f"📅 {step.id}\nuntil {_short(step.until_date)}{shift}{at}{yearly}", "round")
        case ir.WaitForStep():
            within = f" within {format_duration(step.within_seconds)}" if step.within_seconds else ""
            return _Node(step.id, f"👂 {step.id}\nwait for {step.event}{within}", "hexagon")
        case ir.BranchStep():
            return _Node(step.id, f"🔀 {step.id}", "diamond")
        case ir.SplitStep():
            return _Node(step.id, f"🎲 {step.id}\nsplit", "diamond")
        case ir.UpdateStep():
            keys = [*(step.set or {}), *(step.compute or {}), *(f"-{k}" for k in step.unset)]
            return _Node(step.id, f"✎ {step.id}\nupdate {_short(', '.join(keys))}", "box")
        case ir.WebhookStep():
            return _Node(step.id, f"🌐 {step.id}\n{step.method} {_short(step.url)}", "box")
        case ir.ExitStep():
            return _Node(step.id, f"⏹ {step.id}\nexit" + (f": {_short(step.reason)}" if step.reason else ""), "stadium")
        case _:
            assert_never(step)


def _step_edges(step: ir.Step) -> Iterator[_Edge]:
    match step:
        case ir.WaitForStep():
            yield _Edge(step.id, step.next, step.event)
            if step.timeout_next is not None and step.within_seconds is not None:
                yield _Edge(step.id, step.timeout_next, f"timeout {format_duration(step.within_seconds)}", dashed=True)
        case ir.BranchStep():
            for case in step.cases:
                yield _Edge(step.id, case.next, _short(case.when))
            yield _Edge(step.id, step.else_next, "else")
        case ir.SplitStep():
            total = sum(p.weight for p in step.paths) + step.holdout_weight
            for path in step.paths:
                yield _Edge(step.id, path.next, f"{path.name} {path.weight / total:.0%}")
            if step.holdout_weight:
                yield _Edge(step.id, ir.END, f"holdout {step.holdout_weight / total:.0%}", dashed=True)
        case ir.ExitStep():
            return
        case _:
            yield _Edge(step.id, step.next)


def _parts(journey: ir.Journey) -> tuple[list[_Node], list[_Edge]]:
    nodes = [_Node("TRIGGER", _trigger_label(journey.trigger), "stadium")]
    edges = [_Edge("TRIGGER", journey.start, _short(journey.entry.audience) if journey.entry.audience else "")]
    for step in journey.steps:
        nodes.append(_step_node(step))
        edges.extend(_step_edges(step))
    nodes.append(_Node(ir.END, "end", "stadium"))
    if journey.goal:
        within = f" within {format_duration(journey.goal.within_seconds)}" if journey.goal.within_seconds else ""
        nodes.append(_Node("GOAL", f"🎯 goal: {journey.goal.event}{within}\nends as converted, from any step", "note"))
    if journey.exit_on:
        names = ", ".join(f.event for f in journey.exit_on)
        nodes.append(_Node("EXIT_ON", f"🚪 exit on: {names}\nends as exited, from any step", "note"))
    return nodes, edges


_MERMAID_SHAPES = {
    "box": ('["', '"]'),
    "round": ('("', '")'),
    "diamond": ('{"', '"}'),
    "hexagon": ('{{"', '"}}'),
    "stadium": ('(["', '"])'),
    "note": ('[["', '"]]'),
}


def _mermaid_id(node_id: str) -> str:
    # `end` is a Mermaid keyword, so every node id gets a prefix. Step ids are lowercase,
    # so the uppercase TRIGGER, GOAL and EXIT_ON nodes cannot clash with them.
    return f"n_{node_id}"


def _mermaid_text(text: str) -> str:
    escaped = text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return escaped.replace("\n", "<br/>")


def to_mermaid(journey: ir.Journey) -> str:
    nodes, edges = _parts(journey)
    lines = ["flowchart TD", f"  %% {journey.id} version {journey.version}"]
    for node in nodes:
        open_, close = _MERMAID_SHAPES[node.shape]
        lines.append(f"  {_mermaid_id(node.id)}{open_}{_mermaid_text(node.label)}{close}")
    for edge in edges:
        arrow = "-.->" if edge.dashed else "-->"
        label = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"  {_mermaid_id(edge.source)} {arrow}{label} {_mermaid_id(edge.target)}")
    lines.append("  classDef note fill:#fff8dc,stroke:#c9a227")
    notes = [_mermaid_id(n.id) for n in nodes if n.shape == "note"]
    if notes:
        lines.append(f"  class {','.join(notes)} note")
    return "\n".join(lines) + "\n"


_DOT_SHAPES = {"box": "box", "round": "box", "diamond": "diamond", "hexagon": "hexagon", "stadium": "oval", "note": "note"}


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(journey: ir.Journey) -> str:
    nodes, edges = _parts(journey)
    lines = [f'digraph "{_dot_text(journey.id)}" {{', "  rankdir=TB;", '  node [fontname="Helvetica"];']
    for node in nodes:
        style = ', style="rounded"' if node.shape == "round" else ""
        lines.append(f'  "{_dot_text(node.id)}" [shape={_DOT_SHAPES[node.shape]}{style}, label="{_dot_text(node.label)}"];')
    for edge in edges:
        attrs = [f'label="{_dot_text(edge.label)}"'] if edge.label else []
        if edge.dashed:
            attrs.append("style=dashed")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f'  "{_dot_text(edge.source)}" -> "{_dot_text(edge.target)}"{suffix};')
    lines.append("}")
    return "\n".join(lines) + "\n"
