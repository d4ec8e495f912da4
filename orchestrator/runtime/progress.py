"""The journey facts only the workflow knows (steps reached, rests), noted and handed over by the enrollment's revision.

Revision 3 notes them (and revision 4 which way a branch went) and hands them to the store with a local `record_progress` just before the
enrollment blocks, and with its end. Revision 4 hands what it noted to each send too, which records it
with its outcome, and lets a send record the rest that follows it when the next step is a wait that
blocks as soon as it is entered: an enrollment that sends and then waits reports nothing of its own
(docs/analytics.md, "Facts"; the revisions: orchestrator/runtime/workflow.py).
"""

from __future__ import annotations

from datetime import datetime

import orchestrator.ir as ir
from orchestrator.runtime.contracts import EnrollmentInput, ProgressFact
from orchestrator.runtime.enrollment_state import EnrollmentState

RECORDS_PROGRESS = 3
"""EnrollmentInput.revision from which the enrollment collects `reached` and `rested` facts and reports them: a new
local activity before it blocks, so older enrollments must not (their histories have no marker there)."""

FACTS_WITH_SENDS = 4
"""EnrollmentInput.revision from which sends carry the facts (SendRequest.facts, SendRequest.then): the local
`record_progress` before a wait that follows a send is a command older enrollments recorded, so they keep it."""


class Progress:
    """What one enrollment notes of its way through the journey, and which of it a send records."""

    def __init__(self, start: EnrollmentInput, journey: ir.Journey, state: EnrollmentState) -> None:
        self._revision = start.revision
        self._journey = journey
        self._state = state
        # Not carried through continue-as-new: a run that continues between a send and its wait notes that rest
        # again and reports it, and the store keeps the first (one extra write, as often as a run continues).
        self._rest_recorded: tuple[str, int] | None = None
        """(wait step, visit) the last send recorded the enrollment reaching and resting at."""

    def reached(self, step: str, now: datetime, path: str | None = None) -> None:
        """The enrollment runs `step` (a split: gets `path`); noted on the step's first visit only."""
        if self._revision >= RECORDS_PROGRESS and self._state.visits[step] == 1 and not self._recorded_by_send(step):
            self._state.note(ProgressFact("reached", step, now.isoformat(), name=path))

    def branched(self, step: str, target: str, now: datetime) -> None:
        """The branch `step` sent the enrollment on to `target` (revision 4 on); noted on the step's first visit only,
        so a branch's ways add up to its `reached`."""
        if self._revision >= FACTS_WITH_SENDS and self._state.visits[step] == 1:
            self._state.note(ProgressFact("branched", step, now.isoformat(), name=target))

    def rested(self, now: datetime) -> None:
        """The enrollment is about to block at the step it is at (a wait, a held send, a measurement window)."""
        step = self._state.step
        if self._revision >= RECORDS_PROGRESS and step is not None and not self._recorded_by_send(step):
            self._state.note(ProgressFact("rested", step, now.isoformat(), visit=self._state.visits[step]))

    def for_send(self, node: ir.SendStep, now: datetime) -> tuple[list[ProgressFact], list[ProgressFact]]:
        """What a send records with its outcome: the facts noted so far, and the rest that follows it (SendRequest.facts, .then)."""
        if self._revision < FACTS_WITH_SENDS:
            return [], []
        following = self._journey.step(node.next) if node.next != ir.END else None
        # Durations are positive (the compiler's rule), so these block the moment they are entered, nothing to look up first.
        if not isinstance(following, ir.WaitStep | ir.WaitForStep):
            return list(self._state.unreported), []
        visit, at = self._state.visits.get(following.id, 0) + 1, now.isoformat()
        reached = [ProgressFact("reached", following.id, at)] if visit == 1 else []
        return list(self._state.unreported), [*reached, ProgressFact("rested", following.id, at, visit=visit)]

    def sent(self, then: list[ProgressFact]) -> None:
        """A send was decided (not held): it recorded what it was handed, and the rest `then` names."""
        self._state.reported()
        rest = then[-1] if then else None
        self._rest_recorded = (rest.step, rest.visit) if rest is not None and rest.visit is not None else None

    def rest_recorded_at(self, step: str) -> bool:
        """Whether the enrollment is about to enter `step` on the visit a send recorded it resting at."""
        return self._rest_recorded == (step, self._state.visits.get(step, 0) + 1)

    def _recorded_by_send(self, step: str) -> bool:
        return self._rest_recorded == (step, self._state.visits[step])
