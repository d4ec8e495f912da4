"""The search attributes that make enrollments findable in the Temporal UI, and nothing personal in them.

Register them once per namespace (all Keyword):
`temporal operator search-attribute create --name JourneyId --type Keyword` (and
JourneyVersion, CurrentStep, CustomerId). `CustomerId` holds the customer key,
a keyed hash of the customer id (ids are sometimes e-mail addresses), the same key
that is part of the workflow id (orchestrator/runtime/ids.py); `journey customers key ID`
prints it for a customer you are looking for. Search attributes are never encrypted
(the server indexes them), so nothing personal may go into one.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

import orchestrator.ir as ir

JOURNEY_ID = SearchAttributeKey.for_keyword("JourneyId")
JOURNEY_VERSION = SearchAttributeKey.for_keyword("JourneyVersion")
CURRENT_STEP = SearchAttributeKey.for_keyword("CurrentStep")
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
SEARCH_ATTRIBUTES = (JOURNEY_ID, JOURNEY_VERSION, CURRENT_STEP, CUSTOMER_ID)


def first_resting_step(journey: ir.Journey) -> str:
    """The step a new enrollment first waits at, if the way there is fixed: the steps before it pass in one go
    (sends and updates: `ir.StepFacts` says which). Otherwise (a branch, split, webhook or exit comes first, or no
    wait) the start step.

    The start call shows this step, so an enrollment that begins "send, then wait two days" (a welcome
    series) waits at the step already shown and upserts nothing: one visibility write (and, on Temporal
    Cloud, one billed action) fewer per enrollment.
    """
    steps = {step.id: step for step in journey.steps}
    step_id = journey.start
    for _ in range(len(steps)):
        step = steps.get(step_id)
        if step is None:
            break
        if step.rests:
            return step_id
        if not step.passes_in_one_go:
            break
        step_id = step.next  # type: ignore[union-attr]  # a step that passes in one go has a `next` (tests/test_ir.py)
    return journey.start


def enrollment_search_attributes(journey: ir.Journey, customer_key: str) -> TypedSearchAttributes:
    """What an enrollment starts with, `customer_key` being its customer's (orchestrator/runtime/ids.py); the workflow
    updates CurrentStep when it waits at another step (and, for enrollments from before interpreter revision 1, when it ends)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(JOURNEY_ID, journey.id),
            SearchAttributePair(JOURNEY_VERSION, journey.version),
            SearchAttributePair(CURRENT_STEP, first_resting_step(journey)),
            SearchAttributePair(CUSTOMER_ID, customer_key),
        ]
    )
