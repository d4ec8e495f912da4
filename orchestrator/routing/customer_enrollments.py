"""One customer's enrollments as a routed call sees them: read once, when first needed, and kept current as it starts more."""

from __future__ import annotations

from datetime import datetime

from orchestrator import ir
from orchestrator.routing.broadcast_page import entered_fact, past_entries
from orchestrator.routing.entry import PastEntry
from orchestrator.store import Enrollment, StoreSession


class CustomerEnrollments:
    """One customer's enrollments, read once per routed call (when first needed) and kept current as it starts more."""

    def __init__(self, session: StoreSession, customer_id: str) -> None:
        self.customer_id = customer_id
        self._session = session
        self._rows: list[Enrollment] | None = None

    def all(self) -> list[Enrollment]:
        if self._rows is None:
            self._rows = self._session.enrollments_for(self.customer_id)
        return self._rows

    def running(self) -> list[Enrollment]:
        return [e for e in self.all() if e.status == "running"]

    def past_entries(self, journey_id: str) -> list[PastEntry]:
        return past_entries(self.all(), journey_id)

    def start(self, new_id: str, journey: ir.Journey, now: datetime) -> None:
        """Index the new enrollment, with its `entered` fact in the same transaction."""
        self._session.start_enrollment(new_id, journey.id, journey.version, self.customer_id, now)
        self._session.record_facts([entered_fact(journey, new_id, self.customer_id, now)])
        self.all().append(Enrollment(new_id, journey.id, journey.version, self.customer_id, "running", None, now, None))
