"""How the workflow runs the interpreter's activities: the timeouts and retries each one gets.

The requests themselves are built by requests.py, without Temporal; these are the
settings of the commands that carry them (workflow.py, bookkeeping.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from orchestrator.runtime.contracts import WebhookRequest, WebhookResult

ACTIVITY_TIMEOUT = timedelta(seconds=60)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
WEBHOOK_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5), maximum_attempts=8)
"""About ten minutes of retries (5s, 10s, 20s ... 5 min) before the journey goes on without the call."""

FINISH_TIMEOUT = timedelta(minutes=2)
"""One attempt of the local `finish_enrollment`: it may wait up to 75 s for a router's customer lease
(orchestrator.store.LEASE_WAIT_FOR_SESSIONS), then for SQLite's write lock."""


async def call(
    name: str, request: Any, result_type: Any, timeout: timedelta = ACTIVITY_TIMEOUT, heartbeat: timedelta | None = None
) -> Any:
    """Run activity `name` with the interpreter's usual retries and `timeout` (webhooks and the local finish have their own);
    `heartbeat`: the activity heartbeats at least this often, so a lost worker is noticed then, not at the timeout."""
    return await workflow.execute_activity(
        name, request, result_type=result_type, start_to_close_timeout=timeout, heartbeat_timeout=heartbeat, retry_policy=RETRY
    )


async def call_webhook(request: WebhookRequest) -> WebhookResult | None:
    """A webhook step's call, with its own timeout and retries; None when it was not made or failed after every retry."""
    try:
        return await workflow.execute_activity(
            "call_webhook",
            request,
            result_type=WebhookResult,
            start_to_close_timeout=timedelta(seconds=request.timeout_seconds + 30),
            retry_policy=WEBHOOK_RETRY,
        )
    except ActivityError:
        # Not made (a template failed, the URL is not http(s)) or the endpoint stayed down through every
        # retry: the journey goes on (docs/language.md). The activity noted why with the enrollment.
        workflow.logger.info("webhook step %s not called or failed after retries; continuing", request.step_id)
        return None
