"""What the interpreter core asks its host to do, and what each answer is.

The core (interpreter.py) decides; a host carries the decisions out: the Temporal
workflow (workflow.py) with timers, activities and continue-as-new, and the offline
runner (orchestrator/simulation/offline.py) under a discrete-event clock, answering the
same requests with the same rules and sending nothing. The core yields one command at a
time and is sent the answer:

- `Call`: run an activity with its request (`ACTIVITIES` names them and the type of the answer);
- `Report`: hand the journey facts collected so far to the store, before blocking (no answer);
- `Entered`: the enrollment entered a step (the workflow's bookkeeping for enrollments
  started before revision 1 shows it in Temporal's visibility; no answer);
- `Block`: wait for an event for at most `seconds` (None: for ever); the answer is True when
  an event arrived (it is in the state's inbox), or, at a `movable` block, a move request (the
  state's `move`), False when the time ran out;
- `ContinueAsNew`: start a fresh run of this enrollment from `resume` (never answered), on
  `journey` when it moves to another version;
- `Finish`: write the end (`request`) and end with `result` (the last command).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orchestrator.runtime.contracts import (
    EnrollmentResult,
    FinishRequest,
    ProgressRequest,
    ResumeState,
    SendResult,
    WakeResult,
    WebhookResult,
)

ACTIVITIES: dict[str, Any] = {
    "send_message": SendResult,
    "evaluate_conditions": list[bool],
    "evaluate_values": dict[str, Any],
    "wake_time": WakeResult,
    "update_profile": None,
    "call_webhook": WebhookResult,
    "record_move": None,
}
"""The activities a `Call` may name, with the type of their answer. `call_webhook` answers None when the call was
not made or failed after every retry: the journey goes on without it (docs/language.md). `record_move` runs as a
local activity on Temporal (the workflow says why)."""


@dataclass(frozen=True)
class Call:
    activity: str
    request: Any


@dataclass(frozen=True)
class Report:
    request: ProgressRequest


@dataclass(frozen=True)
class Entered:
    step: str


@dataclass(frozen=True)
class Block:
    step: str | None
    """The step the enrollment waits at (None: before its first step)."""
    seconds: float | None
    """At most this long (None: until an event arrives)."""
    movable: bool = False
    """At a wait step, where a move request wakes it too (elsewhere a move waits for the next wait step)."""
    until: datetime | None = None
    """The deadline `seconds` counts down to, on the core's clock: the same after every event the wait ignores."""


@dataclass(frozen=True)
class ContinueAsNew:
    resume: ResumeState
    journey: dict[str, Any] | None = None
    """A move: the new run runs this version (IR JSON) instead of the input's (None: the same version)."""


@dataclass(frozen=True)
class Finish:
    step: str | None
    """The step the enrollment was at when it ended (where the workflow's CurrentStep stays)."""
    request: FinishRequest
    result: EnrollmentResult


Command = Call | Report | Entered | Block | ContinueAsNew | Finish
