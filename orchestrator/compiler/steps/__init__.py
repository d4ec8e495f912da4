"""The step kinds of the journey language, one module each, and the registry that flow, semantics, lowering and diagrams iterate.

Each module (`send.py`, `wait.py`, ...) holds everything about its kind as one
`StepKind` (`kind.py`): whether it goes on to `next`, the transitions written in
its body (`edges`), its semantic checks (`check`), its lowering to the IR
(`lower`), and its node and arrows in `journey graph` (`draw`, `arrows`);
`flow`, `semantics`, `lower` and `diagram` switch on no kind name. Facts the
runtime needs too ("does it rest", "does it pass in one go") live on the IR
classes (`orchestrator.ir.StepFacts`) and are read from there. A step with no
known kind key is reported by the schema (`step-kind`); the IR is built only
from checked documents, so a step reaching `lower` without a kind, or an IR
step no kind lowers to, is a bug and raises.

Adding a step kind:
1. `schemas/journey.schema.json`: the kind's body under `$defs`, its key in the
   step's `properties` and `oneOf` and in the step's description.
2. `orchestrator/ir.py`: its frozen step class, fields documented, with a `kind`
   discriminator and its `StepFacts` (`rests`, `passes_in_one_go`), added to `Step`.
3. One new module here, `steps/<kind>.py`, with its `StepKind`, listed in
   `STEP_KINDS` below in the schema's order (tests/compiler/test_step_kinds.py
   checks both against the schema and the IR).
4. The runtime: one `case` in `Interpreter._execute` (orchestrator/runtime/interpreter.py),
   and any side effect as an activity in `activities/journey_activities.py` (the
   worker and the simulator register the same list). The interpreter changed, so
   record a history that runs the kind (tests/histories/record.py) for the replays.
5. Docs and tests: the step in docs/language.md; a fixture per new rule in
   tests/compiler/fixtures/invalid/; the kind in tests/compiler/strategies.py and
   in the journey of every kind in tests/test_ir.py.
"""

from __future__ import annotations

from typing import Any

from orchestrator import ir
from orchestrator.compiler.steps.branch import BRANCH
from orchestrator.compiler.steps.exit import EXIT
from orchestrator.compiler.steps.kind import Edge, StepKind
from orchestrator.compiler.steps.send import SEND
from orchestrator.compiler.steps.split import SPLIT
from orchestrator.compiler.steps.update import UPDATE
from orchestrator.compiler.steps.wait import WAIT
from orchestrator.compiler.steps.wait_for import WAIT_FOR
from orchestrator.compiler.steps.webhook import WEBHOOK

__all__ = ["STEP_KINDS", "Edge", "StepKind", "kind_lowered_to", "kind_of"]

STEP_KINDS: dict[str, StepKind[Any]] = {kind.name: kind for kind in (SEND, WAIT, WAIT_FOR, BRANCH, SPLIT, UPDATE, WEBHOOK, EXIT)}
"""Every step kind by its key in a journey file, in the order messages list them."""

_BY_IR_CLASS: dict[type, StepKind[Any]] = {cls: kind for kind in STEP_KINDS.values() for cls in kind.lowers_to}


def kind_of(step: dict[str, Any]) -> StepKind[Any] | None:
    """The kind of a step in a journey document: the first kind key it has (None: the schema reports it)."""
    for name, kind in STEP_KINDS.items():
        if name in step:
            return kind
    return None


def kind_lowered_to(step: ir.Step) -> StepKind[Any]:
    """The kind an IR step was lowered from; an IR step of no kind cannot come from the compiler."""
    try:
        return _BY_IR_CLASS[type(step)]
    except KeyError:
        raise TypeError(f"step {step.id!r} is a {type(step).__name__}, which no step kind lowers to") from None
