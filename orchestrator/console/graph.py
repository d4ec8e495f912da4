"""The compiled journey drawn as inline SVG, with how many enrollments reached each step and wait there now.

What a node says and which arrows leave it come from the compiler's drawing
parts (`orchestrator.compiler.diagram.drawing_parts`, the same as `journey
graph`); graph_layout.py places them. The SVG is a string safe to insert in a
page as is (`|safe` in Jinja2): every text in it is escaped here.

Accessibility: the SVG is a group named by its `<title>` and `<desc>`; each step
is a link to its funnel row on the same page (`#step-<id>`), reachable with the
keyboard, whose aria-label says the step and its counts. Each box writes its kind
in words besides its Okabe-Ito colour, so colour never carries meaning alone.

Hooks for the browser tests:
- `data-step="<id>"` on each step's group, with `data-reached` and `data-waiting`;
- `data-edge="<source>-><target>"` on each arrow, with `data-count` when it has one.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape

from orchestrator import ir
from orchestrator.compiler.diagram import drawing_parts
from orchestrator.compiler.drawing import Arrow, Node
from orchestrator.compiler.steps import kind_lowered_to
from orchestrator.console.graph_layout import Box, Route, layered_layout

_BOX_WIDTH = 220.0
_LINE = 15.0
_PAD = 8.0
_WRAP = 30
_LABEL_WRAP = 26
_CORNER = 12.0
_CHAR_WIDTH = 6.6  # the mean width of a character at 12px in a sans-serif font, to keep labels apart
_NOTE_GAP = 20.0
_TEXT = "#1a1a1a"
_LINE_COLOUR = "#555555"

_KIND_WORDS: dict[str, tuple[str, str]] = {
    # The kind written out, and its Okabe-Ito colour (the stripe on the box's left).
    "send": ("send", "#0072B2"),
    "wait": ("wait", "#E69F00"),
    "wait_until": ("wait until a time", "#E69F00"),
    "wait_until_date": ("wait until a date", "#E69F00"),
    "wait_for": ("wait for an event", "#56B4E9"),
    "branch": ("branch", "#CC79A7"),
    "split": ("split (A/B test)", "#D55E00"),
    "update": ("update the profile", "#009E73"),
    "webhook": ("webhook", "#F0E442"),
    "exit": ("exit", "#000000"),
}
_TRIGGER = ("trigger", "#000000")
_END = ("end", "#000000")
_NOTE = ("for the whole journey", "#999999")


@dataclass(frozen=True)
class StepCounts:
    """Enrollments that reached a step in the chosen range, and those resting at it now."""

    reached: int
    waiting: int


@dataclass(frozen=True)
class EdgeKey:
    """One arrow: its source and target step ids and its label as the drawing writes it (`edge_keys`)."""

    source: str
    target: str
    label: str


@dataclass(frozen=True)
class GraphCounts:
    """The numbers drawn on the graph: per step id, and per arrow that divides enrollments (a split's arms and
    holdout, a branch's cases). A step missing from `steps` shows zeros; an arrow missing from `edges` no count."""

    steps: Mapping[str, StepCounts] = field(default_factory=dict)
    edges: Mapping[EdgeKey, int] = field(default_factory=dict)


def edge_keys(step: ir.Step) -> tuple[EdgeKey, ...]:
    """The arrows leaving a step, in its kind's order: a split's paths in their order then its holdout (when it
    has one), a branch's cases in order then `else`; so a caller pairs a split's arms with their arrows by position."""
    return tuple(EdgeKey(a.source, a.target, a.label) for a in kind_lowered_to(step).arrows(step))


def journey_svg(journey: ir.Journey, counts: GraphCounts) -> str:
    """The journey as an inline `<svg>` element, its viewBox fitted to the drawing and its width 100%."""
    nodes, arrows = drawing_parts(journey)
    flow = [n for n in nodes if n.shape != "note"]
    notes = [n for n in nodes if n.shape == "note"]
    steps = {s.id: s for s in journey.steps}
    texts = {n.id: _node_lines(n, steps.get(n.id), counts) for n in flow}
    sizes = {n.id: (_BOX_WIDTH, _height(len(lines))) for n, lines in ((n, texts[n.id]) for n in flow)}
    layout = layered_layout(sizes, [(a.source, a.target) for a in arrows], root="TRIGGER", sink=ir.END)
    note_y = layout.height + 8
    note_lines = [_wrapped(n.label) for n in notes]
    notes_height = max((_height(len(lines) + 1) for lines in note_lines), default=0.0)
    width = max(layout.width, 16 + len(notes) * (_BOX_WIDTH + _NOTE_GAP))
    height = note_y + (notes_height + 16 if notes else 0)
    prefix = f"graph-{journey.id}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="group" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" class="journey-graph" font-family="system-ui, sans-serif" '
        f'font-size="12" aria-labelledby="{_attr(prefix)}-title {_attr(prefix)}-desc">',
        f'<title id="{_attr(prefix)}-title">{_text(journey.name)}: the journey graph</title>',
        f'<desc id="{_attr(prefix)}-desc">{_text(_description(journey))}</desc>',
        "<defs>",
        f'<marker id="{_attr(prefix)}-head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{_LINE_COLOUR}"/></marker>',
        "</defs>",
    ]
    # Labels go where they cover no box and no other label: the boxes are taken first.
    taken: list[Rect] = [(b.x - b.width / 2, b.y, b.x + b.width / 2, b.y + b.height) for b in layout.boxes.values()]
    for route in layout.routes:
        out.append(_arrow(arrows[route.index], route, counts, f"{prefix}-head", taken))
    for node in flow:
        out.append(_node(node, steps.get(node.id), layout.boxes[node.id], texts[node.id], counts))
    for k, (note, lines) in enumerate(zip(notes, note_lines, strict=True)):
        box = Box(note.id, 16 + _BOX_WIDTH / 2 + k * (_BOX_WIDTH + _NOTE_GAP), note_y, _BOX_WIDTH, notes_height)
        out.append(_note(box, lines))
    out.append("</svg>")
    return "\n".join(out)


def _description(journey: ir.Journey) -> str:
    return (
        f"Version {journey.version}, {len(journey.steps)} steps, drawn from the trigger at the top to the end at "
        "the bottom. Each step shows how many enrollments reached it and how many are waiting there now; each "
        "step links to its row in the funnel."
    )


def _kind(node: Node, step: ir.Step | None) -> tuple[str, str]:
    if step is not None:
        return _KIND_WORDS[step.kind]
    return _TRIGGER if node.id == "TRIGGER" else _END


def _counts_of(step_id: str, counts: GraphCounts) -> StepCounts:
    return counts.steps.get(step_id, StepCounts(0, 0))


def _node_lines(node: Node, step: ir.Step | None, counts: GraphCounts) -> list[str]:
    lines = _wrapped(node.label)
    if step is not None:
        c = _counts_of(step.id, counts)
        lines.append(f"reached {c.reached:,} · waiting {c.waiting:,}")
    return lines


def _wrapped(label: str, width: int = _WRAP) -> list[str]:
    """Each line of a drawing label broken at spaces to fit a box (a word longer than a line is cut)."""
    out: list[str] = []
    for line in label.split("\n"):
        current = ""
        for word in line.split(" "):
            while len(word) > width:
                if current:
                    out.append(current)
                    current = ""
                out.append(word[:width])
                word = word[width:]
            if current and len(current) + 1 + len(word) > width:
                out.append(current)
                current = word
            else:
                current = f"{current} {word}" if current else word
        out.append(current)
    return out


def _height(lines: int) -> float:
    # one line more for the kind written at the top of the box
    return 2 * _PAD + (lines + 1) * _LINE


def _node(node: Node, step: ir.Step | None, box: Box, lines: list[str], counts: GraphCounts) -> str:
    kind, colour = _kind(node, step)
    left, top = box.x - box.width / 2, box.y
    radius = {"round": 10, "stadium": box.height / 2 if box.height < 40 else 16, "diamond": 4, "hexagon": 4}.get(
        node.shape, 2
    )
    body = [
        f'<rect x="{left:.1f}" y="{top:.1f}" width="{box.width:.0f}" height="{box.height:.0f}" rx="{radius:.0f}" '
        f'fill="#ffffff" stroke="{_LINE_COLOUR}" stroke-width="1.2"/>',
        f'<rect x="{left:.1f}" y="{top + 4:.1f}" width="6" height="{box.height - 8:.0f}" fill="{colour}"/>',
        _lines(left + 14, top + _PAD, [kind.upper()], size=10, weight="600"),
        _lines(left + 14, top + _PAD + _LINE, lines[:-1] if step is not None else lines),
    ]
    if step is None:
        return f'<g role="img" aria-label="{_attr(kind + ": " + " ".join(lines))}">{"".join(body)}</g>'
    c = _counts_of(step.id, counts)
    body.append(_lines(left + 14, top + _PAD + len(lines) * _LINE, lines[-1:], weight="700"))
    label = f"step {step.id}, {kind}: reached {c.reached:,}, waiting {c.waiting:,}. Show in the funnel"
    return (
        f'<a href="#step-{_attr(step.id)}" aria-label="{_attr(label)}">'
        f'<g class="graph-step" data-step="{_attr(step.id)}" data-reached="{c.reached}" data-waiting="{c.waiting}">'
        f'{"".join(body)}</g></a>'
    )


def _note(box: Box, lines: list[str]) -> str:
    kind, colour = _NOTE
    left = box.x - box.width / 2
    return (
        f'<g role="img" aria-label="{_attr(" ".join(lines))}">'
        f'<rect x="{left:.1f}" y="{box.y:.1f}" width="{box.width:.0f}" height="{box.height:.0f}" rx="2" '
        f'fill="#fafafa" stroke="{colour}" stroke-dasharray="4 3"/>'
        f"{_lines(left + 10, box.y + _PAD, [kind.upper()], size=10, weight='600')}"
        f"{_lines(left + 10, box.y + _PAD + _LINE, lines)}</g>"
    )


def _arrow(arrow: Arrow, route: Route, counts: GraphCounts, head: str, taken: list[Rect]) -> str:
    count = counts.edges.get(EdgeKey(arrow.source, arrow.target, arrow.label))
    dash = ' stroke-dasharray="5 4"' if arrow.dashed else ""
    attrs = f'class="graph-edge" data-edge="{_attr(arrow.source + "->" + arrow.target)}"'
    if count is not None:
        attrs += f' data-count="{count}"'
    said = f"from {arrow.source} to {arrow.target}" + (f", {arrow.label}" if arrow.label else "")
    said += f": {count:,}" if count is not None else ""
    pieces = _segments(route)
    parts = [
        f"<g {attrs}><title>{_text(said)}</title>",
        f'<path d="{_path(pieces)}" fill="none" stroke="{_LINE_COLOUR}" stroke-width="1.3"{dash} '
        f'marker-end="url(#{_attr(head)})"/>',
    ]
    lines = _wrapped(arrow.label, _LABEL_WRAP) if arrow.label else []
    text_lines = lines + ([f"{count:,}"] if count is not None else [])
    if text_lines:
        size = (max(len(line) for line in text_lines) * _CHAR_WIDTH + 6, len(text_lines) * _LINE + 2)
        x, y = _label_place(pieces, size, taken)
        top = y - len(text_lines) * _LINE / 2
        parts.append(
            f'<text x="{x:.1f}" y="{top:.1f}" text-anchor="middle" fill="{_TEXT}" '
            'stroke="#ffffff" stroke-width="4" paint-order="stroke" dominant-baseline="hanging">'
            + "".join(
                f'<tspan x="{x:.1f}" dy="{0 if k == 0 else _LINE:.0f}"'
                + (' font-weight="700"' if count is not None and k == len(lines) else "")
                + f">{_text(line)}</tspan>"
                for k, line in enumerate(text_lines)
            )
            + "</text>"
        )
    parts.append("</g>")
    return "".join(parts)


Point = tuple[float, float]
Rect = tuple[float, float, float, float]


def _segments(route: Route) -> list[tuple[Point, Point, Point, Point]]:
    """The route as cubic Bézier pieces: vertical where it runs between layers, horizontal where a loop
    leaves or enters a box by its side."""
    points = route.points
    if not route.back:
        return [((x1, y1), (x1, (y1 + y2) / 2), (x2, (y1 + y2) / 2), (x2, y2)) for (x1, y1), (x2, y2) in _pairs(points)]
    # A loop: straight runs with rounded corners, so it reads as a lane beside the boxes.
    pieces = []
    start = points[0]
    for k in range(1, len(points) - 1):
        corner, after = points[k], points[k + 1]
        enter, leave = _towards(corner, start, _CORNER), _towards(corner, after, _CORNER)
        pieces.append((start, start, enter, enter))
        pieces.append((enter, corner, corner, leave))
        start = leave
    pieces.append((start, start, points[-1], points[-1]))
    return pieces


def _towards(point: Point, other: Point, distance: float) -> Point:
    """The point `distance` from `point` on the way to `other` (at most halfway)."""
    (x1, y1), (x2, y2) = point, other
    length = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
    if length == 0:
        return point
    share = min(distance / length, 0.5)
    return (x1 + (x2 - x1) * share, y1 + (y2 - y1) * share)


def _pairs(points: tuple[Point, ...]) -> list[tuple[Point, Point]]:
    return list(itertools.pairwise(points))


def _path(pieces: list[tuple[Point, Point, Point, Point]]) -> str:
    d = [f"M{pieces[0][0][0]:.1f},{pieces[0][0][1]:.1f}"]
    for _, c1, c2, end in pieces:
        d.append(f"C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {end[0]:.1f},{end[1]:.1f}")
    return " ".join(d)


def _on(piece: tuple[Point, Point, Point, Point], t: float) -> Point:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = piece
    u = 1 - t
    return (
        u**3 * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t**3 * x3,
        u**3 * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t**3 * y3,
    )


def _label_place(pieces: list[tuple[Point, Point, Point, Point]], size: tuple[float, float], taken: list[Rect]) -> Point:
    """The centre of an arrow's label: the first point along the arrow (halfway first, then nearer either end)
    where the label covers no box and no label placed before it; halfway if there is none."""
    width, height = size
    candidates = [_on(piece, t) for piece in pieces for t in (0.5, 0.35, 0.65, 0.2, 0.8)]
    for cx, cy in candidates:
        rect = (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)
        if not any(_overlap(rect, other) for other in taken):
            taken.append(rect)
            return cx, cy
    cx, cy = candidates[0]
    taken.append((cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2))
    return cx, cy


def _overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _lines(x: float, y: float, lines: list[str], *, size: int = 12, weight: str = "400") -> str:
    if not lines:
        return ""
    spans = "".join(
        f'<tspan x="{x:.1f}" dy="{0 if k == 0 else _LINE:.0f}">{_text(line)}</tspan>' for k, line in enumerate(lines)
    )
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" fill="{_TEXT}" '
        f'dominant-baseline="hanging">{spans}</text>'
    )


def _text(text: str) -> str:
    return escape(text, quote=False)


def _attr(text: str) -> str:
    return escape(text, quote=True)


