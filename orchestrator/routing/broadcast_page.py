"""A broadcast page's entry decisions, inside the router's transaction: who of the page enters, indexed as a cohort's members.

`Router.enroll_page` (orchestrator/routing/router.py) runs `enroll_members` once under the page's customers'
leases, commits what it writes with the leases kept, starts the cohort it returns with one Temporal call, and then
releases the leases: a member's event waits for them, so it never reaches a cohort not started yet. Each
customer is decided as `Router.enroll` decides one (orchestrator/routing/entry.py, a `Broadcast` cause),
in bulk: one read of the page's profiles, one of their enrollments, one insert of their entry events,
one of the admitted members' index rows and one of their `entered` facts. What makes a retried page
harmless is the entry event: recorded under `broadcast:<run>:<customer>`, it is a duplicate the second
time, and a customer whose decision was recorded is not decided again; a page retried after its decisions were
committed (its cohort perhaps not started) starts the cohort from the members recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orchestrator import ir
from orchestrator.routing.calls import RoutingOutcome
from orchestrator.routing.entry import Broadcast, PastEntry, decide
from orchestrator.runtime.cohort_contracts import CohortInput, CohortMember
from orchestrator.runtime.contracts import INTERPRETER_REVISION
from orchestrator.runtime.ids import CustomerKeys, cohort_id, enrollment_id
from orchestrator.store import Enrollment, EventRow, JourneyFact, StoreSession
from orchestrator.store.values import fact_key

ENTRY_EVENT = "journey_entry"
"""The event `Router.enroll(..., message_id=...)` and a broadcast page record, so that a retried page enrolls nobody twice."""


@dataclass(frozen=True)
class BroadcastPage:
    """Page number `page` of the broadcast run `run_key` of `journey`, enrolled at `at` (the run's scheduled time)."""

    journey: ir.Journey
    run_key: str
    page: int
    at: datetime

    @property
    def cohort_id(self) -> str:
        return cohort_id(self.journey.id, self.run_key, self.page)

    def entry_message_id(self, customer_id: str) -> str:
        """The id of the customer's entry event in this run: the same on every page's retry."""
        return f"broadcast:{self.run_key}:{customer_id}"


def enroll_members(
    session: StoreSession, page: BroadcastPage, customers: Sequence[str], keys: CustomerKeys, encoded: dict[str, Any]
) -> tuple[dict[str, RoutingOutcome], CohortInput | None]:
    """Decide the page's customers and write what the decisions need; the cohort to start (None: nobody entered).

    One outcome per customer: `duplicate` when this run decided them before, `enrolled` with the new enrollment's id.
    A customer without a profile, or being erased, gets an empty outcome. `encoded` is the journey's IR as JSON.
    A page whose members are indexed already (a retry after they were committed) decides nobody again: its cohort is
    the members recorded (less those being erased since), and a profile new among its ids is left out, as one created
    behind the paging is.
    """
    journey, at, cohort = page.journey, page.at, page.cohort_id
    outcomes = {customer: RoutingOutcome() for customer in customers}
    erased = session.being_erased_among(customers)
    profiles = session.profiles_of([customer for customer in customers if customer not in erased])
    past = session.enrollments_of(list(profiles))
    recorded = [CohortMember(c, e.enrollment_id) for c in profiles for e in past.get(c, []) if e.cohort_id == cohort]
    if recorded:  # a retried page: its decisions were committed with its members; the cohort is started from them
        for member in recorded:
            outcomes[member.customer_id].duplicate = True
        return outcomes, CohortInput(encoded, cohort, recorded, revision=INTERPRETER_REVISION, run_key=page.run_key)
    properties = {"journey": journey.id, "version": journey.version}
    new = session.record_events([EventRow(page.entry_message_id(c), c, ENTRY_EVENT, properties, at, at) for c in profiles])
    deciding = [customer for customer in profiles if page.entry_message_id(customer) in new]
    for customer in profiles.keys() - set(deciding):
        outcomes[customer].duplicate = True
    members: list[CohortMember] = []
    for customer in deciding:
        entries = past_entries(past.get(customer, []), journey.id)
        decision = decide(journey, Broadcast(), profiles[customer].template_context(), lambda entries=entries: entries, at)
        if decision.enter:
            member = CohortMember(customer, enrollment_id(journey.id, keys.key(customer), decision.number))
            members.append(member)
            outcomes[customer].enrolled.append(member.enrollment_id)
    if not members:
        return outcomes, None
    session.start_enrollments(
        [Enrollment(m.enrollment_id, journey.id, journey.version, m.customer_id, "running", None, at, None, None, cohort) for m in members]
    )
    session.record_facts([entered_fact(journey, m.enrollment_id, m.customer_id, at) for m in members])
    session.record_cohort(cohort, page.run_key, journey.id, journey.version, page.page, len(members), at)
    return outcomes, CohortInput(encoded, cohort, members, revision=INTERPRETER_REVISION, run_key=page.run_key)


def past_entries(enrollments: Iterable[Enrollment], journey_id: str) -> list[PastEntry]:
    """A customer's entries into the journey (any version), as the re-entry rule reads them, from their index rows."""
    return [PastEntry(e.entered_at, e.status == "running") for e in enrollments if e.journey_id == journey_id]


def entered_fact(journey: ir.Journey, new_id: str, customer_id: str, at: datetime) -> JourneyFact:
    """The `entered` fact of a new enrollment, recorded in the transaction that indexes it."""
    return JourneyFact("entered", journey.id, journey.version, new_id, customer_id, fact_key("entered"), at)
