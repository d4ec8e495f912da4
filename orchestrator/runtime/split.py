"""Deterministic A/B/n assignment: the same customer, journey and step always get the same path."""

from __future__ import annotations

import hashlib

import orchestrator.ir as ir

HOLDOUT = "holdout"


def assign_split(customer_id: str, journey_id: str, step: ir.SplitStep) -> str:
    """The name of the chosen path, or HOLDOUT.

    A SHA-256 of (customer, journey, step) gives a uniform point in [0, 1);
    the paths (then the holdout) take consecutive shares of that interval by
    weight. Independent of the journey version, so re-deploying with new copy
    keeps every customer in their group; changing weights moves only the
    customers near the moved boundaries.
    """
    digest = hashlib.sha256(f"{customer_id}\x1f{journey_id}\x1f{step.id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    total = sum(p.weight for p in step.paths) + step.holdout_weight
    cumulative = 0.0
    for path in step.paths:
        cumulative += path.weight / total
        if point < cumulative:
            return path.name
    return HOLDOUT if step.holdout_weight else step.paths[-1].name
