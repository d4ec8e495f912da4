"""What `journey dev` watches in its journeys folder: the files a deploy reads, not an editor's or Git's."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from orchestrator.host import folder_watch
from orchestrator.host.deployment import DeployReport
from orchestrator.host.folder_watch import snapshot


def test_a_save_changes_the_snapshot_and_hidden_files_do_not_count(tmp_path: Path) -> None:
    journey = tmp_path / "cart.yaml"
    journey.write_text("id: cart\n")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "reminder.html").write_text("<p>hi</p>")
    (tmp_path / ".cart.yaml.swp").write_text("editor state")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "index").write_text("git state")
    before = snapshot([tmp_path])
    assert sorted(p.relative_to(tmp_path).as_posix() for p in before) == ["cart.yaml", "templates/reminder.html"]

    (tmp_path / ".cart.yaml.swp").write_text("editor state, longer")
    assert snapshot([tmp_path]) == before
    journey.write_text("id: cart\nname: Cart\n")
    os.utime(journey, ns=(before[journey][1] + 10**9, before[journey][1] + 10**9))
    assert snapshot([tmp_path]) != before


async def test_a_deploy_that_fails_is_said_once_and_tried_again_until_it_goes_through(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "cart.yaml").write_text("id: cart\n")
    attempts: list[int] = []

    async def flaky_deploy(*args: object, **kwargs: object) -> DeployReport:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("Temporal is restarting")
        return DeployReport(changed=["cart"])

    monkeypatch.setattr(folder_watch, "compile_for_deploy", lambda paths: ([], []))
    monkeypatch.setattr(folder_watch, "deploy", flaky_deploy)
    said: list[str] = []
    watcher = asyncio.create_task(
        folder_watch.redeploy_on_change([tmp_path], None, None, task_queue="q", say=said.append, every=0.01)  # type: ignore[arg-type]
    )
    await asyncio.sleep(0.05)
    (tmp_path / "cart.yaml").write_text("id: cart\nname: Cart\n")
    for _ in range(200):
        if len(attempts) >= 3 and len(said) >= 2:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    watcher.cancel()
    assert len(attempts) == 3  # retried until it went through, then no more deploys without a change
    assert said[0].startswith("journeys changed, but deploying them failed (Temporal is restarting)")
    assert said[1:] == ["journeys changed:\n  nothing to deploy (no journey's content changed)"]
