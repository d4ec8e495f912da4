"""The hand-written baseline of bench/enrollments.py: the two-email journey as a plain Temporal workflow.

It calls the journey engine's own `send_message` activity (same request, same
store, same delivery gate and outbox) twice with a 1 s `workflow.sleep` between,
and nothing else: no IR, no search attributes, no index row to finish. It lives
in a module of its own because the workflow sandbox re-imports the module that
defines a workflow, which cannot be a script's `__main__`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    import orchestrator.ir as ir
    from orchestrator.runtime.contracts import SendRequest, SendResult

BASELINE_JOURNEY_ID = "baseline_two_emails"
"""The journey id the baseline's sends carry, so its outbox rows are counted apart."""

FIRST_SUBJECT = "Hello {{ customer.first_name | default('there') }}"
FIRST_BODY = "<p>Welcome aboard.</p>"
SECOND_SUBJECT = "Still there?"
SECOND_BODY = "<p>One more thing.</p>"


@dataclass
class BaselineInput:
    customer_id: str
    enrollment_id: str


@workflow.defn(name="BaselineTwoEmails")
class BaselineTwoEmails:
    @workflow.run
    async def run(self, start: BaselineInput) -> None:
        await self._send(start, "hello", FIRST_SUBJECT, FIRST_BODY)
        await workflow.sleep(timedelta(seconds=1))
        await self._send(start, "again", SECOND_SUBJECT, SECOND_BODY)

    async def _send(self, start: BaselineInput, step: str, subject: str, body: str) -> None:
        request = SendRequest(
            enrollment_id=start.enrollment_id,
            journey_id=BASELINE_JOURNEY_ID,
            version="v1",
            visit=1,
            customer_id=start.customer_id,
            step=ir.SendStep(id=step, channel="email", next="end", subject=subject, body=body),
            settings=ir.Settings(),
            event=None,
            now=workflow.now().isoformat(),
        )
        await workflow.execute_activity(
            "send_message",
            request,
            result_type=SendResult,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5)),
        )
