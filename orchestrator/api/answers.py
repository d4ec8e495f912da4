"""Response bodies of the API, as pydantic models (they document themselves in /docs)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from orchestrator.routing.calls import RoutingOutcome
from orchestrator.store import Delivery, Enrollment, EnrollmentProblem, OutboxMessage
from orchestrator.store.identities import Merge


class CallAnswer(BaseModel):
    """An identify or track call was applied (or was a repeat of one that was)."""

    ok: bool = True
    messageId: str
    duplicate: bool = Field(description="True: this messageId was seen before; the call had no effect this time.")
    enrolled: list[str] = Field(description="Enrollments this call started (workflow ids).")
    signalled: list[str] = Field(
        description="Running enrollments the event was delivered to (enrollment ids: the workflow ids of enrollments of their own; "
        "a broadcast cohort's member got it through its cohort's workflow)."
    )

    @classmethod
    def of(cls, message_id: str, outcome: RoutingOutcome) -> CallAnswer:
        return cls(messageId=message_id, duplicate=outcome.duplicate, enrolled=outcome.enrolled, signalled=outcome.signalled)


class BatchAnswer(BaseModel):
    """Every call of a batch was applied, in order."""

    ok: bool = True
    received: int = Field(description="Calls in the batch.")
    duplicates: int = Field(description="Calls whose messageId was seen before (no effect this time).")
    enrolled: list[str]
    signalled: list[str]

    @classmethod
    def of(cls, outcomes: list[RoutingOutcome]) -> BatchAnswer:
        return cls(
            received=len(outcomes),
            duplicates=sum(o.duplicate for o in outcomes),
            enrolled=[e for o in outcomes for e in o.enrolled],
            signalled=[s for o in outcomes for s in o.signalled],
        )


class MessageView(BaseModel):
    sent_at: datetime
    journey: str
    version: str
    step: str
    enrollment_id: str
    channel: str
    to: str
    subject: str | None = Field(description="The e-mail subject, or the push title; null for SMS.")
    body: str

    @classmethod
    def of(cls, message: OutboxMessage) -> MessageView:
        return cls(
            sent_at=message.sent_at,
            journey=message.journey_id,
            version=message.version,
            step=message.step_id,
            enrollment_id=message.enrollment_id,
            channel=message.channel,
            to=message.to,
            subject=message.subject,
            body=message.body,
        )


class CustomerMessages(BaseModel):
    customer_id: str
    messages: list[MessageView] = Field(description="Oldest first.")


class DeliveryView(BaseModel):
    enrollment_id: str
    journey: str | None
    step: str
    visit: int = Field(description="Which visit of the step (a step in a loop sends once per visit).")
    channel: str = Field(description="The channel used, or to be used (a fallback channel when the first could not reach the customer).")
    category: str | None = Field(description="marketing | transactional")
    status: str = Field(description="intent (not decided yet: deferred, or being sent) | sent | suppressed | failed")
    reason: str | None = Field(description="Why it was suppressed or failed; on `intent`, why it is deferred and until when.")
    provider_status: str | None = Field(
        default=None,
        description="What the provider's webhooks last reported, the furthest state reached: delivered, open, click, bounce, "
        "spamreport (SendGrid); sent, delivered, undelivered, failed (Twilio). Null until a webhook arrives.",
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryView:
        return cls(
            enrollment_id=delivery.enrollment_id,
            journey=delivery.journey_id,
            step=delivery.step_id,
            visit=delivery.visit,
            channel=delivery.channel,
            category=delivery.category,
            status=delivery.status,
            reason=delivery.reason,
            provider_status=delivery.provider_status,
            created_at=delivery.created_at,
            updated_at=delivery.updated_at,
        )


class CustomerDeliveries(BaseModel):
    customer_id: str
    deliveries: list[DeliveryView] = Field(description="Every send a journey attempted for the customer, oldest first.")


class ProblemView(BaseModel):
    """Something that went wrong at a step without stopping the enrollment (sends have theirs in /deliveries)."""

    at: datetime = Field(description="When the step ran (the journey's clock).")
    step: str
    field: str = Field(
        description="What was not done: the trait an `update` writes, `until_date` (a wait), or the webhook's `url`, "
        "`headers.<Name>`, `body` (or `body.<key>`) and `call` (the call itself)."
    )
    problem: str = Field(description="Why, with the expression or template as the journey has it; never a rendered value.")

    @classmethod
    def of(cls, problem: EnrollmentProblem) -> ProblemView:
        return cls(at=problem.occurred_at, step=problem.step_id, field=problem.field, problem=problem.problem)


class EnrollmentView(BaseModel):
    enrollment_id: str
    journey: str
    version: str
    status: str = Field(
        description="running | completed | converted | exited | holdout | failed | merged (ended when its customer's anonymous profile "
        "merged and an older enrollment in the journey continued)"
    )
    entered_at: datetime
    ended_at: datetime | None
    current_step: str | None = Field(
        description="Running: the step the workflow is at (a broadcast cohort's member: the step its cohort says it is at; null "
        "if it did not answer in time). Finished: the step it ended on."
    )
    reason: str | None = Field(
        default=None,
        description="Why a finished enrollment ended: an `exit` step's `reason` (`exit step <id>` without one), "
        "`exit_on: <event>`, `goal: <event>` (converted), `holdout of split <id>`; null while running and when completed.",
    )
    problems: list[ProblemView] = Field(
        default_factory=list, description="What went wrong at its steps without stopping it, oldest first."
    )

    @classmethod
    def of(
        cls, enrollment: Enrollment, current_step: str | None, reason: str | None = None, problems: list[ProblemView] | None = None
    ) -> EnrollmentView:
        return cls(
            enrollment_id=enrollment.enrollment_id,
            journey=enrollment.journey_id,
            version=enrollment.version,
            status=enrollment.status,
            entered_at=enrollment.entered_at,
            ended_at=enrollment.ended_at,
            current_step=current_step,
            reason=reason,
            problems=problems or [],
        )


class MergeView(BaseModel):
    anonymous_id: str = Field(description="The visitor's anonymousId.")
    merged_at: datetime
    message_id: str = Field(description="The identify, track or alias call that merged it.")

    @classmethod
    def of(cls, merge: Merge) -> MergeView:
        return cls(anonymous_id=merge.visitor_id, merged_at=merge.merged_at, message_id=merge.message_id)


class CustomerJourneys(BaseModel):
    customer_id: str
    journeys: list[EnrollmentView] = Field(description="Oldest first.")
    merged: list[MergeView] = Field(
        default_factory=list, description="The anonymous profiles merged into this customer, oldest first: their enrollments are above."
    )


class Health(BaseModel):
    status: str = Field(description="ok | degraded (Temporal unreachable: only unlistened events are accepted) | down")
    database: str
    temporal: str
    active_journeys: int


class Ready(BaseModel):
    ready: bool
    database: str = Field(description="ok | error: <its kind>")
    temporal: str = Field(description="ok | unreachable | misconfigured (the namespace refuses start calls)")
    reasons: list[str] = Field(description="Why not ready, each with what to do; empty when ready.")


class ActiveJourney(BaseModel):
    id: str
    version: str


class Reloaded(BaseModel):
    ok: bool = True
    active: list[ActiveJourney]
