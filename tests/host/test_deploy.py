"""`journey deploy`: all or nothing, new versions for new enrollments only, pruning, broadcast schedules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.host.deployment import DeployRefused, compile_for_deploy, deploy
from orchestrator.host.schedules import schedule_id
from orchestrator.store import Store

WELCOME = """\
id: welcome
name: Welcome
trigger: {event: signed_up}
steps:
  - id: hello
    send: {channel: email, subject: "Welcome {{ customer.first_name | default('') }}", body: "Hi"}
"""

DIGEST = """\
id: digest
name: Digest
trigger:
  schedule: {cron: "0 9 * * MON", timezone: Europe/London}
entry: {audience: "true", re_entry: always}
steps:
  - id: digest_email
    send: {channel: email, subject: "Your week", body: "..."}
"""


def folder(tmp_path: Path, **files: str) -> Path:
    target = tmp_path / f"journeys-{uuid.uuid4().hex[:6]}"
    target.mkdir()
    for name, text in files.items():
        (target / f"{name}.yaml").write_text(text)
    return target


def active(store: Store) -> dict[str, str]:
    with store.session() as session:
        return {j.id: j.version for j in session.active_journeys()}


async def test_one_broken_journey_deploys_nothing(tmp_path: Path, store: Store) -> None:
    broken = WELCOME.replace("id: welcome", "id: broken").replace("next_step", "").replace("steps:", "stepz:")
    path = folder(tmp_path, welcome=WELCOME, broken=broken)
    with pytest.raises(DeployRefused) as refused:
        compile_for_deploy([path])
    assert any(d.file.endswith("broken.yaml") and d.line >= 1 for d in refused.value.diagnostics)
    assert active(store) == {}


async def test_new_version_replaces_the_active_one_and_old_versions_stay_readable(tmp_path: Path, store: Store) -> None:
    first, _ = compile_for_deploy([folder(tmp_path, welcome=WELCOME)])
    report = await deploy(store, None, first, task_queue="unused")
    assert report.changed == ["welcome"]
    again = await deploy(store, None, first, task_queue="unused")
    assert again.changed == [] and "unchanged" in again.lines()[0]

    second, _ = compile_for_deploy([folder(tmp_path, welcome=WELCOME.replace('body: "Hi"', 'body: "Hello!"'))])
    assert second[0].version != first[0].version
    report = await deploy(store, None, second, task_queue="unused")
    assert report.changed == ["welcome"]
    assert active(store) == {"welcome": second[0].version}
    with store.session() as session:
        # Enrollments that pinned the first version still find it.
        old = session.journey_version("welcome", first[0].version)
    assert old is not None and old.to_dict() == first[0].to_dict()


async def test_prune_stops_journeys_no_longer_in_the_folder_and_deletes_their_schedules(
    tmp_path: Path, store: Store, temporal: Client
) -> None:
    queue = f"deploy-{uuid.uuid4()}"
    both, _ = compile_for_deploy([folder(tmp_path, welcome=WELCOME, digest=DIGEST)])
    await deploy(store, temporal, both, task_queue=queue, prune=True)
    with pytest.raises(RPCError) as unscheduled:  # only broadcasts are scheduled
        await temporal.get_schedule_handle(schedule_id("welcome")).describe()
    assert unscheduled.value.status == RPCStatusCode.NOT_FOUND
    described = await temporal.get_schedule_handle(schedule_id("digest")).describe()
    # The server stores a cron as calendar specs: Mondays at 09:00:00, in London time.
    (calendar,) = described.schedule.spec.calendars
    assert [(r.start, r.end) for r in calendar.hour] == [(9, 9)] and [r.start for r in calendar.day_of_week] == [1]
    assert described.schedule.spec.time_zone_name == "Europe/London"
    assert described.schedule.action.task_queue == queue  # type: ignore[union-attr]

    only_welcome, _ = compile_for_deploy([folder(tmp_path, welcome=WELCOME)])
    report = await deploy(store, temporal, only_welcome, task_queue=queue, prune=True)
    assert report.deactivated == ["digest"]
    assert active(store) == {"welcome": only_welcome[0].version}
    with pytest.raises(RPCError) as gone:
        await temporal.get_schedule_handle(schedule_id("digest")).describe()
    assert gone.value.status == RPCStatusCode.NOT_FOUND


async def test_without_prune_other_active_journeys_stay(tmp_path: Path, store: Store) -> None:
    both, _ = compile_for_deploy([folder(tmp_path, welcome=WELCOME, digest=DIGEST.replace("schedule: {cron", "schedule: {cron"))])
    await deploy(store, None, both, task_queue="unused")
    welcome_only = [j for j in both if j.id == "welcome"]
    report = await deploy(store, None, welcome_only, task_queue="unused", at=datetime.now(UTC))
    assert report.deactivated == []
    assert set(active(store)) == {"welcome", "digest"}
