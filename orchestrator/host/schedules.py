"""Temporal Schedules for broadcast journeys: one `broadcast-<journey id>` schedule per schedule-triggered journey."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from orchestrator import ir
from orchestrator.runtime.broadcast import BROADCAST_WORKFLOW, BroadcastInput

SCHEDULE_PREFIX = "broadcast-"
CATCHUP_WINDOW = timedelta(hours=1)
"""A broadcast missed by more than this (the server was down) is skipped, not sent late: a Monday
digest delivered on Wednesday is worse than none."""


def schedule_id(journey_id: str) -> str:
    return f"{SCHEDULE_PREFIX}{journey_id}"


def schedule_for(journey: ir.Journey, task_queue: str) -> Schedule:
    trigger = journey.trigger
    assert isinstance(trigger, ir.ScheduleTrigger)
    if trigger.cron:
        spec = ScheduleSpec(cron_expressions=[trigger.cron], time_zone_name=trigger.timezone)
        state = ScheduleState(note=f"journey {journey.id} version {journey.version}")
    else:
        assert trigger.at is not None
        moment = datetime.fromisoformat(trigger.at.replace("Z", "+00:00")).astimezone(UTC)
        spec = ScheduleSpec(calendars=[_once(moment)], time_zone_name="UTC")
        # One firing at most, even if the spec somehow matched again.
        state = ScheduleState(note=f"journey {journey.id} version {journey.version}", limited_actions=True, remaining_actions=1)
    return Schedule(
        action=ScheduleActionStartWorkflow(
            BROADCAST_WORKFLOW,
            BroadcastInput(journey.id),
            id=f"{SCHEDULE_PREFIX}{journey.id}",
            task_queue=task_queue,
        ),
        spec=spec,
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
        state=state,
    )


def _once(moment: datetime) -> ScheduleCalendarSpec:
    return ScheduleCalendarSpec(
        second=[ScheduleRange(moment.second)],
        minute=[ScheduleRange(moment.minute)],
        hour=[ScheduleRange(moment.hour)],
        day_of_month=[ScheduleRange(moment.day)],
        month=[ScheduleRange(moment.month)],
        year=[ScheduleRange(moment.year)],
    )


async def sync_schedules(client: Client, journeys: list[ir.Journey], task_queue: str, *, prune: bool) -> None:
    """Create or update the schedule of every broadcast in `journeys`; with `prune`, delete the schedules of
    broadcasts not among them."""
    wanted = {schedule_id(j.id): j for j in journeys if isinstance(j.trigger, ir.ScheduleTrigger)}
    for sid, journey in wanted.items():
        schedule = schedule_for(journey, task_queue)
        try:
            await client.create_schedule(sid, schedule)
        except ScheduleAlreadyRunningError:

            def replace(_: ScheduleUpdateInput, schedule: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=schedule)

            await client.get_schedule_handle(sid).update(replace)
    if prune:
        async for listed in await client.list_schedules():
            if listed.id.startswith(SCHEDULE_PREFIX) and listed.id not in wanted:
                await delete_schedule(client, listed.id)


async def delete_schedule(client: Client, sid: str) -> None:
    try:
        await client.get_schedule_handle(sid).delete()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
