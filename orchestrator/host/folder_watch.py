"""`journey dev` follows its journeys folder: an edited, added or removed file is redeployed within seconds.

The folder is polled (file names, sizes and modification times), which needs no
platform-specific watcher and costs a directory walk a second. A change is acted on
once the folder has stayed the same for one more poll, so an editor's half-written
save is not compiled. Then it is exactly `journey deploy --prune` of the folder: all
or nothing, so a file with an error deploys nothing and the running versions stay,
and what changed is printed. Running enrollments keep the version they started on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from pathlib import Path

from temporalio.client import Client

from orchestrator.compiler import format_diagnostics
from orchestrator.host.deployment import DeployRefused, compile_for_deploy, deploy
from orchestrator.store import Store

Snapshot = dict[Path, tuple[int, int]]


def snapshot(paths: Iterable[Path]) -> Snapshot:
    """Every file under `paths` (hidden ones aside) with its size and modification time."""
    found: Snapshot = {}
    for root in paths:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if not _hidden(p.relative_to(root))]
        for path in files:
            try:
                stat = path.stat()
            except OSError:  # removed while we looked: the next poll sees it gone
                continue
            if path.is_file():
                found[path] = (stat.st_size, stat.st_mtime_ns)
    return found


def _hidden(relative: Path) -> bool:
    """Under a dot folder or a dot file (an editor's swap file, `.git`): not part of the journeys."""
    return any(part.startswith(".") for part in relative.parts)


async def redeploy_on_change(
    paths: list[Path],
    store: Store,
    client: Client,
    *,
    task_queue: str,
    say: Callable[[str], None],
    deployed_now: Callable[[], object] = lambda: None,
    every: float = 1.0,
) -> None:
    """Poll `paths` forever; redeploy the folder after each change that has settled, saying what happened.

    `deployed_now` runs after each deploy (`journey dev` has its API re-read the active journeys, so the
    next event already meets the new version).
    """
    deployed = await asyncio.to_thread(snapshot, paths)
    seen = deployed
    failing = False
    while True:
        await asyncio.sleep(every)
        now = await asyncio.to_thread(snapshot, paths)
        settled, seen = now == seen, now
        if now == deployed or not settled:
            continue
        try:
            journeys, _ = await asyncio.to_thread(compile_for_deploy, paths)
        except DeployRefused as refused:
            deployed = now
            say(format_diagnostics(refused.diagnostics, "text"))
            say("journeys changed, but nothing was deployed: fix the errors above (the running versions stay)")
            continue
        try:
            report = await deploy(store, client, journeys, task_queue=task_queue, prune=True)
        except Exception as exc:  # Temporal restarting, the database busy: the stack stays up and tries again
            if not failing:
                say(f"journeys changed, but deploying them failed ({exc}); trying again every {every:.0f}s")
            failing = True
            continue
        deployed, failing = now, False
        await asyncio.to_thread(deployed_now)
        lines = [line for line in report.lines() if not line.startswith("unchanged")]
        say("journeys changed:\n" + "\n".join(f"  {line}" for line in lines or ["nothing to deploy (no journey's content changed)"]))
