"""When a send whose provider keeps failing is retried, and when it is given up: one rule for a send and a batch of them.

A `RetryableFailure` makes the activity raise `ProviderRetryable`, so Temporal retries it with the
send retry policy's backoff, waiting at least what the provider asked (Retry-After). Once the
policy's retry window has passed since the first attempt, the next failing attempt gives the
send up as failed instead (docs/delivery.md, "Outcomes").
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from orchestrator.language.timeparse import format_duration


def give_up_reason(provider: str, reason: str, retry_window: timedelta) -> str | None:
    """Why this send stops being retried, once Temporal has retried it for `retry_window`; else None.

    Measured from the first attempt's scheduling to this attempt's, both on the Temporal server's
    clock: the window holds across worker restarts, and a time-skipping test server skips through it.
    Outside an activity (a direct call, in tests) nothing is ever given up.
    """
    if not activity.in_activity():
        return None
    info = activity.info()
    retried = info.current_attempt_scheduled_time - info.scheduled_time
    if retried < retry_window:
        return None
    window = format_duration(int(retry_window.total_seconds()))
    return f"{provider} still failing after {window} of retries ({info.attempt} attempts): {reason}"


def retry_error(what: str, retry_after: float | None) -> ApplicationError:
    """The error that has Temporal retry the send, after at least `retry_after` seconds if the provider said."""
    delay = timedelta(seconds=retry_after) if retry_after else None
    return ApplicationError(what, type="ProviderRetryable", next_retry_delay=delay)
