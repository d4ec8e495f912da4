"""What an enrollment writes outside its own history: CurrentStep in Temporal's visibility, its end in the index, its facts.

Two generations of it, chosen per enrollment so that an enrollment in flight
replays the commands it recorded (docs/architecture.md, "Changing the
interpreter"): the first upserted CurrentStep at every step and ran
`finish_enrollment` as a regular activity; the lean one, below, upserts only
where the enrollment blocks and finishes with a local activity.
"""

from __future__ import annotations

from temporalio import workflow

from orchestrator.runtime.activity_calls import ACTIVITY_TIMEOUT, FINISH_TIMEOUT, RETRY, call
from orchestrator.runtime.contracts import EnrollmentInput, FinishRequest, ProgressRequest
from orchestrator.runtime.search_attributes import CURRENT_STEP

LEAN_BOOKKEEPING = "current-step-when-waiting-local-finish"
"""Patch id (a permanent name, docs/architecture.md "Changing the interpreter"). Enrollments started since
this patch upsert CurrentStep only when they block and at their end, not at every step (each upsert is a
visibility write on the server), and run `finish_enrollment` as a local activity (no schedule, start and
complete events, no task matching, no extra workflow task). One id for both changes: every run that calls
`workflow.patched` also upserts Temporal's own TemporalChangeVersion search attribute, one more visibility
write per patch id, which is the very cost this saves."""

LEAN_WITHOUT_MARKERS = 1
"""EnrollmentInput.revision from which the lean bookkeeping applies without asking `workflow.patched` (its
marker upserts TemporalChangeVersion, a visibility write per enrollment), and an enrollment that ends leaves
CurrentStep where it last waited instead of upserting its end step: one visibility write fewer again. Where
it ended is in the workflow's result and the index row (`GET /v1/customers/{id}/journeys`)."""


class Bookkeeping:
    """The bookkeeping of one enrollment, by the revision it started on (or, before revisions, by the patch)."""

    def __init__(self, start: EnrollmentInput) -> None:
        self._start = start

    def lean(self) -> bool:
        """The lean bookkeeping: by the input's revision, or (for enrollments started before it) by the patch."""
        return self._start.revision >= LEAN_WITHOUT_MARKERS or workflow.patched(LEAN_BOOKKEEPING)

    def entered(self, step: str) -> None:
        """The enrollment entered `step`: only enrollments from before the patch show it at once."""
        if self._start.upsert_search_attributes and not self.lean():
            workflow.upsert_search_attributes([CURRENT_STEP.value_set(step)])

    def show_current_step(self, step: str | None, *, ending: bool = False) -> None:
        """Make CurrentStep `step`, the step the enrollment is at, if it is not already.

        Called when the enrollment is about to block (a wait, a wait_for, a held send, the
        holdout), so CurrentStep is the step it waits at, and when it ends (which upserts the
        end step only for enrollments started before revision 1): the steps it passes through
        in one go are never upserted, since each upsert is a visibility write on the server.
        The start call sets CurrentStep to the first step the enrollment rests at when the way
        there is fixed (orchestrator.runtime.search_attributes.first_resting_step), and a run
        that continues as new keeps its search attributes, so an enrollment that waits at the
        step already shown upserts nothing.
        """
        if not self._start.upsert_search_attributes or step is None or not self.lean():
            return
        if ending and self._start.revision >= LEAN_WITHOUT_MARKERS:
            return
        if workflow.info().typed_search_attributes.get(CURRENT_STEP) != step:
            workflow.upsert_search_attributes([CURRENT_STEP.value_set(step)])

    async def finish(self, request: FinishRequest) -> None:
        """Write the enrollment's end to the index."""
        if self.lean():
            # Local: run by this worker inside the workflow task that completes the enrollment. No
            # schedule_to_close: like the other activities it retries until the index row is written
            # (the write is idempotent), backing off through timers past a minute between attempts.
            await workflow.execute_local_activity("finish_enrollment", request, start_to_close_timeout=FINISH_TIMEOUT, retry_policy=RETRY)
        else:
            await call("finish_enrollment", request, None)  # enrollments from before the patch

    async def report(self, request: ProgressRequest) -> None:
        """Hand the facts collected so far to the store before the enrollment blocks (revision 3 on).

        Local, as the lean finish is: it runs inside the workflow task that is about to block,
        so it costs a marker in the history and a store write, not a round trip through the server.
        """
        await workflow.execute_local_activity("record_progress", request, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
