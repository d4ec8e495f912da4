"""Which `wait_for` matches an expression or template reads as `events.<step id>`, and what stands in for a missing one.

The compiler (orchestrator/compiler/awaited.py) needs three things from each text:

- the step ids it reads, to check that each names a `wait_for` and so that an
  enrollment remembers only the matches something reads (an event's properties
  may be up to 64 KiB, and every activity request carries what is remembered);
- where `events` is read by anything but a written step id (`events[name]`,
  `{{ events }}`): the compiler refuses those, since it could not tell which
  matches to remember;
- for each read, which matches give it a value: `events.a.properties.score |
  default(events.b.properties.score)` has one when `a` or `b` matched, and
  `events.a.properties.score | default(0)` always has one. The compiler warns
  where a read may have none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from jinja2 import nodes

from orchestrator.language.templating import AWAITED_EVENTS, syntax_tree

_DEFAULT_FILTERS = frozenset({"default", "d"})


@dataclass(frozen=True)
class AwaitedRead:
    """One read of `events` in an expression or template."""

    step: str | None
    """The step id read (`events.await_score`, `events['await_score']`); None: `events` read without one."""
    lineno: int
    """The line of the read, 1-based within its text."""
    given_by: frozenset[str] | None
    """The steps any one of whose matches gives the read a value: the step itself and the awaited events of the
    `default` fallbacks around it. None: a fallback that is no awaited event (`| default(0)`) always gives one."""


@cache
def awaited_reads(source: str, *, expression: bool) -> tuple[AwaitedRead, ...]:
    """Every read of `events` in `source`, in the order written; empty for a text that does not parse."""
    tree = syntax_tree(source, expression=expression)
    if tree is None:
        return ()
    parents = dict(_parents(tree))
    reads: list[AwaitedRead] = []
    for name in tree.find_all(nodes.Name):
        if name.name != AWAITED_EVENTS or name.ctx != "load":
            continue
        access = parents.get(id(name))
        step = _step_read(access, name) if access is not None else None
        given_by: frozenset[str] | None = frozenset({step}) if step is not None else frozenset()
        node: nodes.Node = name
        while given_by is not None and id(node) in parents:
            node = parents[id(node)]
            if _is_default(node):
                alternatives = _given_by(node)
                given_by = None if alternatives is None else given_by | alternatives
        reads.append(AwaitedRead(step, name.lineno, given_by))
    return tuple(reads)


def _parents(tree: nodes.Node) -> Iterator[tuple[int, nodes.Node]]:
    """(id of a node, its parent) for every node below `tree`: Jinja's nodes do not know their parent."""
    stack = [tree]
    while stack:
        parent = stack.pop()
        for child in parent.iter_child_nodes():
            yield id(child), parent
            stack.append(child)


def _step_read(access: nodes.Node, name: nodes.Name) -> str | None:
    """The step id in `events.<id>` or `events['<id>']`, where `access` is the node around the name `events`."""
    if isinstance(access, nodes.Getattr) and access.node is name:
        return access.attr
    if isinstance(access, nodes.Getitem) and access.node is name and isinstance(access.arg, nodes.Const):
        return access.arg.value if isinstance(access.arg.value, str) else None
    return None


def _is_default(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Filter) and node.name in _DEFAULT_FILTERS


def _given_by(node: nodes.Node | None) -> frozenset[str] | None:
    """The steps whose match gives `node` a value (see `AwaitedRead.given_by`); None: it always has one."""
    if node is not None and _is_default(node):
        assert isinstance(node, nodes.Filter)
        if not node.args:
            return None  # `| default` with no argument gives ''
        first, fallback = _given_by(node.node), _given_by(node.args[0])
        return None if first is None or fallback is None else first | fallback
    root = node
    while isinstance(root, nodes.Getattr | nodes.Getitem):
        inner = root.node
        if isinstance(inner, nodes.Name) and inner.name == AWAITED_EVENTS:
            step = _step_read(root, inner)
            return frozenset({step}) if step is not None else None
        root = inner
    return None  # anything but an awaited event (a constant, a trait...): counted as always there
