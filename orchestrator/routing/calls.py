"""What routing takes in and hands out: identify and track calls, their outcomes, and the Temporal calls they need.

The API, the webhooks and the broadcast activity build `TrackCall`s and
`IdentifyCall`s; the router (orchestrator/routing/router.py) plans a
`StartCall` or `SignalCall` for each enrollment a call starts or reaches, and
makes them through a `TemporalGateway` (orchestrator/routing/gateway.py in
production, fakes in tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from orchestrator import ir
from orchestrator.runtime.cohort_contracts import CohortInput
from orchestrator.runtime.contracts import EnrollmentInput, EventMessage
from orchestrator.store import ProfileFieldError
from orchestrator.store.identities import MergeConflict
from orchestrator.store.values import ConsentEvidence


@dataclass(frozen=True)
class TrackCall:
    customer_id: str
    """The customer it is about: the `userId`, or the anonymous profile (`anonymous:<anonymousId>`) of a visitor."""
    event: str
    properties: dict[str, Any]
    message_id: str
    timestamp: datetime
    received_at: datetime
    anonymous_id: str | None = None
    """The anonymous profile this call merges into `customer_id` (it carried both ids): orchestrator/routing/merge.py."""


@dataclass(frozen=True)
class IdentifyCall:
    customer_id: str
    traits: dict[str, Any]
    message_id: str
    timestamp: datetime
    received_at: datetime
    consent: ConsentEvidence | None = None
    """What a consent record this call causes says; None: an identify call, its message id the evidence."""
    anonymous_id: str | None = None
    """As TrackCall's."""


@dataclass(frozen=True)
class AliasCall:
    """Segment's `alias`: the anonymous profile `anonymous_id` (its `previousId`) is the customer `customer_id` (its `userId`)."""

    customer_id: str
    anonymous_id: str
    message_id: str
    timestamp: datetime
    received_at: datetime


Call = TrackCall | IdentifyCall | AliasCall


@dataclass
class RoutingOutcome:
    """What one call did, for logs and for the API's answer."""

    duplicate: bool = False
    enrolled: list[str] = field(default_factory=list)
    signalled: list[str] = field(default_factory=list)


class CallRejected(ValueError):
    """The store refused call number `index` of a batch (a bad trait value): nothing of the batch was applied."""

    def __init__(self, index: int, error: ProfileFieldError) -> None:
        super().__init__(f"call {index}: {error}")
        self.index = index
        self.error = error


class MergeRefused(ValueError):
    """Call number `index` of a batch ties an anonymous id to a customer it is not (`conflict`): nothing of the batch was applied."""

    def __init__(self, index: int, conflict: MergeConflict) -> None:
        super().__init__(f"call {index}: {conflict}")
        self.index = index
        self.conflict = conflict


class TemporalUnavailable(RuntimeError):
    """Temporal did not confirm a call: the caller must not report the event as accepted."""


class TemporalMisconfigured(TemporalUnavailable):
    """Temporal refused a call for what the deployment is, not for an outage (a namespace missing, a search attribute not
    registered, a key without the right): asking again changes nothing until an operator fixes it."""


# --- the Temporal side ----------------------------------------------------------


@dataclass(frozen=True)
class StartCall:
    """Start the workflow of a new enrollment."""

    customer_id: str
    start: EnrollmentInput
    journey: ir.Journey
    customer_key: str
    """The customer's key (orchestrator/runtime/ids.py), shown as `CustomerId`: the id itself never is."""


@dataclass(frozen=True)
class CohortStartCall:
    """Start the cohort of a broadcast page: one workflow that runs the page's members (their enrollments indexed with it)."""

    start: CohortInput
    journey: ir.Journey

    @property
    def customer_id(self) -> str:
        """What orders calls (one customer's strictly in order): a cohort's start is ordered by itself, not by a customer."""
        return self.start.cohort_id


@dataclass(frozen=True)
class SignalCall:
    """Deliver an event to a running enrollment: to its own workflow, or through the cohort that runs it."""

    customer_id: str
    enrollment_id: str
    event: EventMessage
    cohort_id: str | None = None
    """The broadcast cohort the enrollment runs in (signalled `member_event`); None: its own workflow (signalled `event`)."""


@dataclass(frozen=True)
class EndCall:
    """End a running enrollment that a merge made the customer's second one in its journey (it ends `merged`): its
    workflow terminated, or, run by a broadcast cohort, dropped from it (`forget_member`)."""

    customer_id: str
    enrollment_id: str
    cohort_id: str | None = None


TemporalCall = StartCall | CohortStartCall | SignalCall | EndCall


class TemporalGateway(Protocol):
    """The Temporal calls routing makes: idempotent, and blocking until Temporal has them durably."""

    def execute(self, calls: Sequence[TemporalCall]) -> list[bool]:
        """Make `calls`; one customer's strictly in the given order, different customers' possibly at once.

        Returns one flag per call: True when the enrollment (or cohort) was started (or existed) or the event
        delivered or the enrollment ended, False when a signalled (or ended) enrollment or its cohort had already
        ended (nothing to deliver). Raises TemporalUnavailable when any call is not confirmed.
        """
        ...
