"""Draw a compiled journey as Mermaid (renders in GitHub pull requests) or Graphviz DOT."""

from __future__ import annotations

from typing import assert_never

from orchestrator import ir
from orchestrator.compiler.drawing import Arrow, Node, short
from orchestrator.compiler.steps import kind_lowered_to
from orchestrator.language.timeparse import format_duration


def _trigger_label(trigger: ir.Trigger) -> str:
    match trigger:
        case ir.EventTrigger():
            return f"⚡ event: {trigger.event}" + (f"\nwhere {short(trigger.where)}" if trigger.where else "")
        case ir.SegmentTrigger():
            return f"⚡ segment\n{short(trigger.condition)}"
        case ir.ScheduleTrigger():
            when = f"cron {trigger.cron} ({trigger.timezone})" if trigger.cron else f"once at {trigger.at}"
            return f"⚡ schedule\n{when}"
        case _:
            assert_never(trigger)


def drawing_parts(journey: ir.Journey) -> tuple[list[Node], list[Arrow]]:
    """What every drawing of the journey shows: its nodes (the trigger, each step as its kind draws it, `end`,
    then the notes: goal, metrics, exit_on) and its arrows, in that order. Mermaid, DOT and the console's SVG
    (orchestrator/console/graph.py) lay out these same parts, so they never disagree on what a node says."""
    nodes = [Node("TRIGGER", _trigger_label(journey.trigger), "stadium")]
    edges = [Arrow("TRIGGER", journey.start, short(journey.entry.audience) if journey.entry.audience else "")]
    for step in journey.steps:
        kind = kind_lowered_to(step)
        nodes.append(kind.draw(step))
        edges.extend(kind.arrows(step))
    nodes.append(Node(ir.END, "end", "stadium"))
    if journey.goal:
        goal = journey.goal
        within = f" within {format_duration(goal.within_seconds)}" if goal.within_seconds else ""
        label = f"🎯 goal: {goal.event}{within}\nends as converted, from any step"
        if goal.measure_seconds and not goal.within_seconds and any(isinstance(s, ir.SplitStep) for s in journey.steps):
            label += f"\nsplit groups measured {format_duration(goal.measure_seconds)}"
        if goal.value:
            label += f"\nworth {short(goal.value)}"
        nodes.append(Node("GOAL", label, "note"))
    if journey.metrics:
        measured = "\n".join(f"{m.id}: {m.kind} of {m.event}" for m in journey.metrics)
        nodes.append(Node("METRICS", f"📊 measures\n{measured}", "note"))
    if journey.exit_on:
        names = ", ".join(f.event for f in journey.exit_on)
        nodes.append(Node("EXIT_ON", f"🚪 exit on: {names}\nends as exited, from any step", "note"))
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
    # so the uppercase TRIGGER, GOAL, EXIT_ON and METRICS nodes cannot clash with them.
    return f"n_{node_id}"


def _mermaid_text(text: str) -> str:
    escaped = text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return escaped.replace("\n", "<br/>")


def to_mermaid(journey: ir.Journey) -> str:
    nodes, edges = drawing_parts(journey)
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
    nodes, edges = drawing_parts(journey)
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
