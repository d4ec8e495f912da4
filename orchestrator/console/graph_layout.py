"""Where each box and arrow of a journey graph goes: a small layered (Sugiyama-style) layout, top to bottom.

The console draws the compiled journey itself (graph.py) instead of shipping a
JavaScript graph library, so the drawing is plain server-rendered SVG and the
same journey always comes out the same. The steps, in order:

1. Back edges: a depth-first walk from the root, in the order the arrows are
   given, marks an arrow that returns to a node still on the walk's path (a loop,
   such as a yearly birthday journey going back to its check) as a back edge.
   Back edges are left out of the layering and drawn on the right-hand side.
2. Layers: each node's layer is its longest path from the root over the other
   edges, so every forward arrow points down; `sink` (the journey's `end`) goes to
   the bottom layer, where a reader looks for it.
3. Long arrows pass through one invisible point per layer they cross, so they
   bend around the boxes in between instead of running through them.
4. Order within a layer: barycentre sweeps (each node placed at the mean position
   of its neighbours in the layer above, then below), keeping the order with the
   fewest crossings seen. Ties keep the earlier order, so the result is
   deterministic: the same input gives the same drawing.
5. Horizontal positions: each node pulled towards the mean x of its neighbours,
   then pushed apart to keep the gap, averaging a left and a right packing so no
   side is favoured.

Work is bounded by the journey's size: with N nodes and E arrows, the long
arrows add at most E·N points, and each sweep sorts layers and counts crossings
between neighbouring layers, O((E·N)²) at worst for a fixed number of sweeps.
The journey language sets no step limit today, but journeys are written by hand
(tens of steps), which keeps this well under a millisecond per drawing.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

_SWEEPS = 4
_NODE_GAP = 36.0
_POINT_GAP = 18.0
_LAYER_GAP = 80.0
_LANE_GAP = 16.0
_MARGIN = 16.0


@dataclass(frozen=True)
class Box:
    """A placed node: `x` is its centre, `y` its top."""

    id: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Route:
    """The points an arrow passes, from its source's border to its target's. `back`: a loop, drawn on the side."""

    index: int
    source: str
    target: str
    points: tuple[tuple[float, float], ...]
    back: bool


@dataclass(frozen=True)
class Layout:
    boxes: dict[str, Box]
    routes: tuple[Route, ...]
    width: float
    height: float


def layered_layout(
    sizes: dict[str, tuple[float, float]], arrows: list[tuple[str, str]], *, root: str, sink: str | None = None
) -> Layout:
    """Place the nodes (`sizes`: id -> (width, height), in a stable order) and route `arrows` (source, target)."""
    order = list(sizes)
    back = _back_edges(order, arrows, root)
    forward = [(i, s, t) for i, (s, t) in enumerate(arrows) if i not in back]
    layer = _layers(order, forward, sink)
    # A loop runs upwards: through points of its own, from its target's layer down to its source's, so
    # the ordering keeps a free column for it and it passes beside the boxes, never through them.
    upward = [(i, arrows[i][1], arrows[i][0]) for i in sorted(back) if arrows[i][0] != arrows[i][1]]
    chains, layers = _with_points(order, forward, upward, layer)
    _reduce_crossings(layers, chains)
    _beside_their_boxes(layers, chains, upward)
    width_of = {n: sizes[n][0] if n in sizes else 0.0 for row in layers for n in row}
    x = _positions(layers, chains, width_of)
    tops, heights = _rows(layers, sizes)
    boxes = {
        n: Box(n, x[n], tops[layer[n]] + (heights[layer[n]] - sizes[n][1]) / 2, *sizes[n]) for n in order
    }
    routes = [_forward_route(i, chains[i], boxes, x, tops, heights, layer) for i, _, _ in forward]
    routes = _spread_ports(routes, boxes)
    for i in sorted(back):
        source, target = boxes[arrows[i][0]], boxes[arrows[i][1]]
        between = [(x[p], tops[layer[p]] + heights[layer[p]] / 2) for p in reversed(chains.get(i, []))]
        routes.append(Route(i, source.id, target.id, _back_route(source, target, between), back=True))
    routes.sort(key=lambda r: r.index)
    right = max((px for r in routes for px, _ in r.points), default=0.0)
    right = max(right, *(b.x + b.width / 2 for b in boxes.values()))
    return _shifted(boxes, routes, right, tops[-1] + heights[-1] if tops else 0.0)


def _back_edges(order: list[str], arrows: list[tuple[str, str]], root: str) -> set[int]:
    out: dict[str, list[tuple[int, str]]] = {n: [] for n in order}
    for i, (s, t) in enumerate(arrows):
        out[s].append((i, t))
    back: set[int] = set()
    visited: set[str] = set()
    for start in [root, *order]:
        if start in visited:
            continue
        visited.add(start)
        on_path = {start}
        stack = [(start, iter(out[start]))]
        while stack:
            node, rest = stack[-1]
            step = next(rest, None)
            if step is None:
                stack.pop()
                on_path.discard(node)
                continue
            i, target = step
            if target in on_path:
                back.add(i)
            elif target not in visited:
                visited.add(target)
                on_path.add(target)
                stack.append((target, iter(out[target])))
    return back


def _layers(order: list[str], forward: list[tuple[int, str, str]], sink: str | None) -> dict[str, int]:
    """Longest path from the sources, in a topological order that follows `order` among equals."""
    rank = {n: k for k, n in enumerate(order)}
    preds: dict[str, list[str]] = {n: [] for n in order}
    indegree = dict.fromkeys(order, 0)
    for _, s, t in forward:
        preds[t].append(s)
        indegree[t] += 1
    ready = sorted((n for n in order if indegree[n] == 0), key=rank.__getitem__)
    layer: dict[str, int] = {}
    succs: dict[str, list[str]] = {n: [] for n in order}
    for _, s, t in forward:
        succs[s].append(t)
    while ready:
        node = ready.pop(0)
        layer[node] = max((layer[p] + 1 for p in preds[node]), default=0)
        for t in succs[node]:
            indegree[t] -= 1
            if indegree[t] == 0:
                ready.append(t)
                ready.sort(key=rank.__getitem__)
    if sink is not None and sink in layer:
        layer[sink] = max(layer.values())
    return layer


def _with_points(
    order: list[str], forward: list[tuple[int, str, str]], upward: list[tuple[int, str, str]], layer: dict[str, int]
) -> tuple[dict[int, list[str]], list[list[str]]]:
    """Each arrow as a chain of nodes one layer apart, and the layers; the invisible points in between are
    added to `layer` too."""
    layers: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for n in order:
        layers[layer[n]].append(n)
    chains: dict[int, list[str]] = {}
    for i, s, t in forward:
        chain = [s]
        for level in range(layer[s] + 1, layer[t]):
            point = f"\0{i}:{level}"  # no node id holds a NUL, so a point never clashes with a node
            layers[level].append(point)
            layer[point] = level
            chain.append(point)
        chains[i] = [*chain, t]
    for i, s, t in upward:
        # A loop's column has a point in its own ends' layers too, so it leaves and enters beside its boxes;
        # new points start at the right of their layer, where a loop is drawn unless the sweeps move it.
        chain = []
        for level in range(layer[s], layer[t] + 1):
            point = f"\0{i}:{level}"
            layers[level].append(point)
            layer[point] = level
            chain.append(point)
        chains[i] = chain
    return chains, layers


def _beside_their_boxes(layers: list[list[str]], chains: dict[int, list[str]], upward: list[tuple[int, str, str]]) -> None:
    """A loop's points in its ends' own layers go just right of their box, so the run from the box's side to
    the loop's column crosses no other box."""
    for i, top, bottom in upward:
        for point, box in ((chains[i][0], top), (chains[i][-1], bottom)):
            row = next(r for r in layers if point in r)
            row.remove(point)
            row.insert(row.index(box) + 1, point)


def _neighbours(chains: dict[int, list[str]]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    up: dict[str, list[str]] = {}
    down: dict[str, list[str]] = {}
    for chain in chains.values():
        for a, b in itertools.pairwise(chain):
            down.setdefault(a, []).append(b)
            up.setdefault(b, []).append(a)
    return up, down


def _crossings(upper: list[str], lower: list[str], down: dict[str, list[str]]) -> int:
    where = {n: k for k, n in enumerate(lower)}
    pairs = [(k, where[b]) for k, a in enumerate(upper) for b in down.get(a, ()) if b in where]
    return sum(1 for i, (a1, b1) in enumerate(pairs) for a2, b2 in pairs[i + 1 :] if (a1 - a2) * (b1 - b2) < 0)


def _reduce_crossings(layers: list[list[str]], chains: dict[int, list[str]]) -> None:
    up, down = _neighbours(chains)

    def total() -> int:
        return sum(_crossings(layers[k], layers[k + 1], down) for k in range(len(layers) - 1))

    def sweep(rows: range, towards: dict[str, list[str]], step: int) -> None:
        for k in rows:
            where = {n: p for p, n in enumerate(layers[k + step])}
            current = {n: p for p, n in enumerate(layers[k])}

            def barycentre(n: str, where: dict[str, int] = where, current: dict[str, int] = current) -> float:
                near = [where[m] for m in towards.get(n, ()) if m in where]
                return sum(near) / len(near) if near else float(current[n])

            layers[k].sort(key=lambda n: (barycentre(n), current[n]))

    best, fewest = [list(row) for row in layers], total()
    for _ in range(_SWEEPS):
        sweep(range(1, len(layers)), up, -1)
        sweep(range(len(layers) - 2, -1, -1), down, 1)
        if (count := total()) < fewest:
            best, fewest = [list(row) for row in layers], count
    layers[:] = best


def _positions(layers: list[list[str]], chains: dict[int, list[str]], width_of: dict[str, float]) -> dict[str, float]:
    up, down = _neighbours(chains)

    def gap(a: str, b: str) -> float:
        both_points = width_of[a] == 0 and width_of[b] == 0
        return (width_of[a] + width_of[b]) / 2 + (_POINT_GAP if both_points else _NODE_GAP)

    def pack(row: list[str], want: dict[str, float]) -> None:
        left = [want[row[0]]]
        for a, b in itertools.pairwise(row):
            left.append(max(want[b], left[-1] + gap(a, b)))
        right = [want[row[-1]]]
        for a, b in zip(reversed(row[:-1]), reversed(row[1:]), strict=False):
            right.append(min(want[a], right[-1] - gap(a, b)))
        right.reverse()
        for n, lx, rx in zip(row, left, right, strict=True):
            x[n] = (lx + rx) / 2

    x: dict[str, float] = {}
    for row in layers:
        at = 0.0
        for a, b in itertools.pairwise(row):
            at += gap(a, b)
        start = -at / 2
        for k, n in enumerate(row):
            x[n] = start if k == 0 else x[row[k - 1]] + gap(row[k - 1], n)
    for _ in range(_SWEEPS):
        for rows, towards in ((layers[1:], up), (list(reversed(layers[:-1])), down)):
            for row in rows:
                want = {n: _mean([x[m] for m in towards.get(n, ())], x[n]) for n in row}
                if row:
                    pack(row, want)
    return x


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default


def _rows(layers: list[list[str]], sizes: dict[str, tuple[float, float]]) -> tuple[list[float], list[float]]:
    heights = [max((sizes[n][1] for n in row if n in sizes), default=0.0) for row in layers]
    tops: list[float] = []
    at = 0.0
    for h in heights:
        tops.append(at)
        at += h + _LAYER_GAP
    return tops, heights


def _forward_route(
    index: int,
    chain: list[str],
    boxes: dict[str, Box],
    x: dict[str, float],
    tops: list[float],
    heights: list[float],
    layer: dict[str, int],
) -> Route:
    source, target = boxes[chain[0]], boxes[chain[-1]]
    middle = []
    for k, point in enumerate(chain[1:-1], start=layer[chain[0]] + 1):
        middle.append((x[point], tops[k] + heights[k] / 2))
    points = ((source.x, source.y + source.height), *middle, (target.x, target.y))
    return Route(index, source.id, target.id, points, back=False)


def _spread_ports(routes: list[Route], boxes: dict[str, Box]) -> list[Route]:
    """Arrows leaving (or entering) one box start (end) side by side along its border, ordered by where they
    go (come from), so two arrows between the same boxes, or a branch's arms, do not lie on top of each other."""
    ends: dict[tuple[str, int], list[tuple[float, int]]] = {}
    by_index = {r.index: r for r in routes}
    for r in routes:
        if r.back:
            continue
        ends.setdefault((r.source, 0), []).append((r.points[1][0], r.index))
        ends.setdefault((r.target, -1), []).append((r.points[-2][0], r.index))
    points = {r.index: list(r.points) for r in routes}
    for (node, end), arrivals in ends.items():
        box = boxes[node]
        arrivals.sort()
        span = box.width * 0.5
        for k, (_, index) in enumerate(arrivals):
            offset = 0.0 if len(arrivals) == 1 else -span / 2 + span * k / (len(arrivals) - 1)
            _px, py = points[index][end]
            points[index][end] = (box.x + offset, py)
    return sorted((replace(by_index[i], points=tuple(points[i])) for i in points), key=lambda r: r.index)


def _back_route(source: Box, target: Box, column: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """A loop leaves its source by the side its column lies on, climbs the column, and enters its target by
    the side too; a step that loops to itself bulges out on its right."""

    def side(box: Box, towards: float) -> tuple[float, float]:
        edge = box.x + box.width / 2 if towards >= box.x else box.x - box.width / 2
        return (edge, box.y + box.height / 2)

    if not column:
        right = source.x + source.width / 2
        middle = source.y + source.height / 2
        return ((right, middle - 8), (right + _LANE_GAP * 2, middle), (right, middle + 8))
    return (side(source, column[0][0]), *column, side(target, column[-1][0]))


def _shifted(boxes: dict[str, Box], routes: list[Route], right: float, bottom: float) -> Layout:
    left = min((b.x - b.width / 2 for b in boxes.values()), default=0.0)
    for route in routes:
        left = min(left, *(px for px, _ in route.points))
    dx, dy = _MARGIN - left, _MARGIN
    moved = {n: Box(n, b.x + dx, b.y + dy, b.width, b.height) for n, b in boxes.items()}
    moved_routes = tuple(replace(r, points=tuple((px + dx, py + dy) for px, py in r.points)) for r in routes)
    return Layout(moved, moved_routes, right + dx + _MARGIN, bottom + dy + _MARGIN)
