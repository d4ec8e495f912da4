"""Everything the store holds about one customer, read in one transaction, as one JSON document (the right of access).

`read_export` gathers the customer's rows from every table that holds them; `CustomerExport.document`
turns them into the JSON that `GET /v1/customers/{id}/export` answers and `journey customers export`
prints (docs/privacy.md, "Export"). Each enrollment lists the steps the store knows it passed: the
sends the ledger claimed, the problems noted at a step, and the step it ended on. What a running
enrollment is doing right now is Temporal's, and the export does not ask it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from orchestrator.store.identities import Merge
from orchestrator.store.values import (
    ConsentRecord,
    Delivery,
    Enrollment,
    EnrollmentProblem,
    EventRow,
    JourneyFact,
    OutboxMessage,
    Profile,
    ProfileChange,
    ProviderEvent,
)

if TYPE_CHECKING:
    from orchestrator.store.session import StoreSession

FORMAT = "journey-customer-export/1"
"""Named in the document, so that a reader can tell this layout from a later one."""


@dataclass(frozen=True)
class CustomerExport:
    """The customer's rows of every table, each list oldest first."""

    profile: Profile
    consent_records: list[ConsentRecord]
    events: list[EventRow]
    enrollments: list[Enrollment]
    problems: list[EnrollmentProblem]
    deliveries: list[Delivery]
    provider_events: list[ProviderEvent]
    messages: list[OutboxMessage]
    number_opt_out: tuple[str, datetime] | None
    """The STOP the customer's number texted, kept for the number itself (docs/delivery.md, "STOP")."""
    journey_facts: list[JourneyFact]
    """What analytics recorded of their enrollments (docs/analytics.md, "Facts"), in recorded order."""
    profile_history: list[ProfileChange]
    """Each change of their profile's traits and fields, in the order it arrived (docs/privacy.md, "Profile history")."""
    merges: list[tuple[Merge, list[ProfileChange]]]
    """The anonymous profiles merged into them, each with its own profile history (its other rows are theirs now)."""

    def document(self, exported_at: datetime) -> dict[str, Any]:
        """The export as JSON data: timestamps as ISO 8601 text, every row's fields under the store's names."""
        by_delivery: dict[tuple[str | None, str | None, int | None], list[dict[str, Any]]] = {}
        unmatched: list[dict[str, Any]] = []
        for event in self.provider_events:
            row = _json(asdict(event), drop=("customer_id",))
            if event.enrollment_id is None:
                unmatched.append(row)
            else:
                by_delivery.setdefault((event.enrollment_id, event.step_id, event.visit), []).append(row)
        deliveries = [
            {**_json(asdict(d), drop=("customer_id",)), "provider_events": by_delivery.get((d.enrollment_id, d.step_id, d.visit), [])}
            for d in self.deliveries
        ]
        profile = asdict(self.profile)
        return {
            "format": FORMAT,
            "customer_id": self.profile.customer_id,
            "exported_at": exported_at.isoformat(),
            "profile": _json({**profile, "push_tokens": list(self.profile.push_tokens)}),
            "consent_records": [_json(asdict(r), drop=("customer_id",)) for r in self.consent_records],
            "events": [_json(asdict(e), drop=("customer_id",)) for e in self.events],
            "enrollments": [self._enrollment(e) for e in self.enrollments],
            "deliveries": deliveries,
            "messages": [_json(asdict(m), drop=("customer_id", "id")) for m in self.messages],
            "provider_events": unmatched,
            "number_opt_out": None
            if self.number_opt_out is None
            else {"keyword": self.number_opt_out[0], "opted_out_at": self.number_opt_out[1].isoformat()},
            "journey_facts": [_json(asdict(f), drop=("customer_id",)) for f in self.journey_facts],
            "profile_history": [_json(asdict(c), drop=("customer_id",)) for c in self.profile_history],
            "merges": [
                {
                    "anonymous_id": merge.visitor_id,
                    "merged_at": merge.merged_at.isoformat(),
                    "message_id": merge.message_id,
                    "profile_history": [_json(asdict(c), drop=("customer_id",)) for c in history],
                }
                for merge, history in self.merges
            ],
        }

    def _enrollment(self, enrollment: Enrollment) -> dict[str, Any]:
        """The index row, and the steps the store knows it passed, in the order they happened."""
        steps: list[tuple[datetime, dict[str, Any]]] = []
        for d in self.deliveries:
            if d.enrollment_id == enrollment.enrollment_id:
                send = {"step_id": d.step_id, "visit": d.visit, "at": d.created_at.isoformat(), "send": d.channel, "status": d.status}
                steps.append((d.created_at, send))
        for p in self.problems:
            if p.enrollment_id == enrollment.enrollment_id:
                problem = {"step_id": p.step_id, "visit": p.visit, "at": p.occurred_at.isoformat(), "field": p.field, "problem": p.problem}
                steps.append((p.occurred_at, problem))
        if enrollment.ended_at is not None and enrollment.current_step is not None:
            steps.append((enrollment.ended_at, {"step_id": enrollment.current_step, "at": enrollment.ended_at.isoformat(), "ended": True}))
        ordered = [step for _, step in sorted(steps, key=lambda pair: pair[0])]
        return {**_json(asdict(enrollment), drop=("customer_id",)), "steps": ordered}


def read_export(session: StoreSession, customer_id: str) -> CustomerExport | None:
    """The customer's rows (in `session`'s one snapshot); None if the store has no profile for them."""
    profile = session.get_profile(customer_id)
    if profile is None:
        return None
    return CustomerExport(
        profile=profile,
        consent_records=session.consent_records_for(customer_id),
        events=session.events_for(customer_id),
        enrollments=session.enrollments_for(customer_id),
        problems=session.problems_for(customer_id),
        deliveries=session.deliveries_for(customer_id),
        provider_events=session.provider_events_for(customer_id),
        messages=session.messages_for(customer_id),
        number_opt_out=session.number_opt_out(profile.phone) if profile.phone else None,
        journey_facts=session.facts_for(customer_id),
        profile_history=session.profile_changes_for(customer_id),
        merges=[(merge, session.profile_changes_for(merge.anonymous_id)) for merge in session.merges_into(customer_id)],
    )


def _json(row: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A row's fields, timestamps as ISO text, without the `drop` fields (the customer id, said once at the top)."""
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in row.items() if key not in drop}
