"""Values that cross the boundaries of a cohort (orchestrator/runtime/cohort_workflow.py): its input, its signals and
query, and its batch activities' inputs.

As in contracts.py: each takes one dataclass, field names are persisted in histories (never rename one), no
`from __future__ import annotations` (the data converter resolves the hints), a class before those that name it.
"""

from dataclasses import dataclass
from typing import Any

from orchestrator.runtime.contracts import (
    ConditionRequest,
    EventMessage,
    FinishRequest,
    ProgressRequest,
    ResumeState,
    SendRequest,
    UpdateRequest,
    ValuesRequest,
    WakeRequest,
)
from orchestrator.runtime.end_reasons import BROADCAST_CANCELLED

COHORT_WORKFLOW = "JourneyCohort"
"""The workflow that runs a broadcast page's enrollments together (orchestrator/runtime/cohort_workflow.py)."""
MEMBER_EVENT_SIGNAL = "member_event"
"""A cohort's signal carrying an event for one member (payload `MemberEvent`)."""
COHORT_CANCEL_SIGNAL = "cancel"
"""A cohort's signal that ends every member as cancelled (payload `CohortCancel`)."""
MEMBER_STATUS_QUERY = "member_status"
"""A cohort's query: one member's `EnrollmentStatus` (argument: its enrollment id)."""
FORGET_MEMBER_SIGNAL = "forget_member"
"""A cohort's signal that drops one member whose customer is being erased (payload `ForgetMember`)."""


@dataclass
class CohortMember:
    """One enrollment run inside a cohort: the part of an `EnrollmentInput` that differs between members."""

    customer_id: str
    enrollment_id: str
    trigger: EventMessage | None = None
    resume: ResumeState | None = None
    """Where the member picks up after the cohort continued as new (None: it enters the journey now)."""


@dataclass
class CohortInput:
    """The start of a cohort: one pinned journey version for many enrollments run in lockstep (a broadcast page)."""

    journey: dict[str, Any]
    """The IR as JSON, as EnrollmentInput.journey."""
    cohort_id: str
    """The workflow id; no personal data in it."""
    members: list[CohortMember]
    revision: int = 0
    """EnrollmentInput.revision of every member (INTERPRETER_REVISION when started now)."""
    clock_shift_seconds: float = 0.0
    upsert_search_attributes: bool = True
    history_limit: int | None = None
    """Continue as new past this many history events (None: the cohort's own limit). Tests lower it."""
    run_key: str = ""
    """The broadcast run the cohort belongs to ("" outside broadcasts)."""


@dataclass
class MemberEvent:
    """The `member_event` signal: an event for one member of a cohort."""

    enrollment_id: str
    event: EventMessage


@dataclass
class CohortCancel:
    """The `cancel` signal: every member still running ends as `exited`, with this reason, and sends nothing more."""

    reason: str = BROADCAST_CANCELLED


@dataclass
class ForgetMember:
    """The `forget_member` signal: the member's customer is being erased; the cohort drops it at once (no further
    command of it is carried out, no end written) and does not carry it through continue-as-new."""

    enrollment_id: str


# --- a cohort's batch activities: each means what the single activity means, for every request in order ------------


@dataclass
class SendBatch:
    requests: list[SendRequest]


@dataclass
class ConditionBatch:
    requests: list[ConditionRequest]


@dataclass
class WakeBatch:
    requests: list[WakeRequest]


@dataclass
class ValuesBatch:
    requests: list[ValuesRequest]


@dataclass
class UpdateBatch:
    requests: list[UpdateRequest]


@dataclass
class ProgressBatch:
    requests: list[ProgressRequest]


@dataclass
class FinishBatch:
    requests: list[FinishRequest]
