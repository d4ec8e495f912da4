"""The search attributes that make enrollments findable in the Temporal UI, and nothing personal in them.

Register them once per namespace (all Keyword):
`temporal operator search-attribute create --name JourneyId --type Keyword` (and
JourneyVersion, CurrentStep, CustomerId). `CustomerId` holds the customer key,
a hash of the customer id (ids are sometimes e-mail addresses), the same key
that is part of the workflow id; `orchestrator.routing.customer_key(id)` gives
it for a customer you are looking for.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from orchestrator.routing import customer_key

JOURNEY_ID = SearchAttributeKey.for_keyword("JourneyId")
JOURNEY_VERSION = SearchAttributeKey.for_keyword("JourneyVersion")
CURRENT_STEP = SearchAttributeKey.for_keyword("CurrentStep")
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
SEARCH_ATTRIBUTES = (JOURNEY_ID, JOURNEY_VERSION, CURRENT_STEP, CUSTOMER_ID)


def enrollment_search_attributes(journey_id: str, version: str, start_step: str, customer_id: str) -> TypedSearchAttributes:
    """What an enrollment starts with; the workflow updates CurrentStep when it waits at another step, and when it ends."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(JOURNEY_ID, journey_id),
            SearchAttributePair(JOURNEY_VERSION, version),
            SearchAttributePair(CURRENT_STEP, start_step),
            SearchAttributePair(CUSTOMER_ID, customer_key(customer_id)),
        ]
    )
