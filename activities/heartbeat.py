"""A batch activity's sign of life, where a batch may wait (customers' leases, the store's write lock) or work long."""

from __future__ import annotations

from temporalio import activity


def heartbeat() -> None:
    """Tell Temporal the activity is alive (a cohort notices a lost worker by the heartbeats); nothing outside an activity."""
    if activity.in_activity():
        activity.heartbeat()
