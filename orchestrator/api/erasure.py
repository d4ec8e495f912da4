"""DELETE /v1/customers/{id}: erase a customer everywhere we hold their personal data (docs/privacy.md, "Erasure").

Behind the API key; the audit row names the key that asked by its fingerprint. The work is
orchestrator/routing/erasure.py's: blocking (store transactions, Temporal calls through the
gateway), so the handler is a plain `def` FastAPI runs in its thread pool. Idempotent: a repeated
request removes what is left (nothing) and says how many erasures of the id came before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from orchestrator.api.auth import caller
from orchestrator.api.state import ApiRuntime, runtime
from orchestrator.routing.erasure import erase_customer

router = APIRouter(prefix="/v1/customers", tags=["customers"])
Runtime = Annotated[ApiRuntime, Depends(runtime)]


class ErasureAnswer(BaseModel):
    """What the erasure did, in counts: never any of the data."""

    erased: bool = True
    requested_by: str = Field(description="The API key's fingerprint (`api-key:<12 hex digits of its SHA-256>`).")
    requested_at: datetime
    completed_at: datetime
    enrollments_ended: int = Field(description="Enrollments still running, ended before anything else (no further sends).")
    histories_deleted: int = Field(description="Workflow runs whose Temporal history was deleted.")
    cohort_members_forgotten: int = Field(
        description="Enrollments still running in a broadcast cohort, dropped from it (no further sends); the cohort's history is "
        "deleted by the namespace's retention after the cohort closes."
    )
    removed: dict[str, int] = Field(
        description="Rows deleted per store table, and `suppressed_addresses`: the keyed hashes kept of their addresses."
    )
    earlier_erasures: int = Field(description="Erasures of this customer id completed before (a repeat finds nothing more).")


@router.delete("/{customer_id:path}", response_model=ErasureAnswer, responses={503: {"description": "Temporal is unreachable: retry."}})
def erase(customer_id: str, request: Request, api: Runtime) -> ErasureAnswer:
    """Erase the customer: end their enrollments, delete their Temporal histories and every row of theirs in the store,
    keeping keyed hashes of their addresses so that a later import is not messaged without new consent."""
    report = erase_customer(api.store, api.gateway, customer_id, caller(request))
    return ErasureAnswer(
        requested_by=report.requested_by,
        requested_at=report.requested_at,
        completed_at=report.completed_at,
        enrollments_ended=report.enrollments_ended,
        histories_deleted=report.histories_deleted,
        cohort_members_forgotten=report.cohort_members_forgotten,
        removed=report.removed,
        earlier_erasures=report.earlier_erasures,
    )
