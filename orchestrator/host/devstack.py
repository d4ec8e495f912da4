"""`journey dev`, `journey worker`, `journey api`, `journey deploy`: the processes that run journeys.

`journey dev` is the embedded default stack in one process tree: the Temporal dev
server (SQLite under `.journey/`), one worker and the API, all on 127.0.0.1, with
every journey of a folder deployed, and the store pruned every hour
(orchestrator/host/retention.py). `journey worker` is the worker alone and
`journey api` the API alone, against any Temporal cluster and database (docs/deploy.md).
Each is given the settings its command read from the environment at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from temporalio.client import Client

from activities.providers import build_providers
from orchestrator.host.deployment import DeployReport, compile_for_deploy, deploy
from orchestrator.host.devserver import DevServer, DevServerError
from orchestrator.host.folder_watch import redeploy_on_change
from orchestrator.host.local_keys import local_keys
from orchestrator.host.logs import banner
from orchestrator.host.migration import Migration, check_migration, migrate
from orchestrator.host.ops_server import EmbeddedServer, Readiness, serving_ops
from orchestrator.host.preflight import StartRefused, migrated, shown_url
from orchestrator.host.retention import prune_every
from orchestrator.host.settings import ApiServerSettings, DeploySettings, DevSettings, WorkerSettings, open_store
from orchestrator.host.temporal_connection import TemporalSettings
from orchestrator.host.temporal_metrics import sdk_metrics_runtime
from orchestrator.host.worker import DEFAULT_TASK_QUEUE, build_worker
from orchestrator.privacy.payload_codec import encrypting_converter
from orchestrator.routing.namespace_check import check_temporal
from orchestrator.routing.outage import watch as watch_temporal
from orchestrator.runtime.payload_types import JOURNEY_DATA_CONVERTER

log = logging.getLogger(__name__)

API_START_WAIT = 5.0
"""Seconds `journey api` gives Temporal to answer its start checks before it starts without them."""


@dataclass
class DevOptions:
    paths: list[Path]
    data_dir: Path = Path(".journey")
    host: str = "127.0.0.1"
    api_port: int = 8080
    temporal_port: int = 7233
    ui_port: int | None = 8233


@dataclass
class DevStackInfo:
    api_url: str
    temporal_address: str
    ui_url: str | None
    database: str
    auth: bool
    report: DeployReport
    console_login: bool = False
    """The console asks for a password (JOURNEY_API_KEYS or JOURNEY_CONSOLE_PASSWORD is set)."""
    providers: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [
            f"API          {self.api_url}" + ("" if self.auth else "  (no API key needed: set JOURNEY_API_KEYS to require one)"),
            f"Console      {self.api_url}/console" + ("  (log in: JOURNEY_CONSOLE_PASSWORD or an API key)" if self.console_login else ""),
            f"Temporal UI  {self.ui_url or '(headless)'}",
            f"Temporal     {self.temporal_address}",
            f"Database     {self.database}",
        ]
        out += [f"{channel:<12} {provider}" for channel, provider in self.providers.items()]
        out.append("Journeys:")
        out += [f"  {line}" for line in self.report.lines()]
        out.append("Saved changes to the journey files are deployed as they happen.")
        out.append("Ctrl-C stops everything; state is kept for the next start.")
        return out


async def run_dev(
    options: DevOptions, settings: DevSettings, announce: Callable[[DevStackInfo], None], say: Callable[[str], None] = print
) -> None:
    """Run the stack until SIGINT/SIGTERM.

    Raises DeployRefused on journey errors, ProviderSettingsError when a provider's SDK refuses its
    credentials and SettingsError on a database the store does not support, before starting anything.
    """
    from orchestrator.api import create_app

    journeys, _ = compile_for_deploy(options.paths)
    providers = build_providers(settings.providers)
    kept = local_keys(options.data_dir)  # the local stack encrypts and hashes as production does, with keys of its own
    store = open_store(settings.database_url, options.data_dir, kept.hash_secret, settings.pool)
    api_url = f"http://{options.host}:{options.api_port}"
    server = DevServer(
        options.data_dir, ip=options.host, port=options.temporal_port, ui_port=options.ui_port, ui_codec_endpoint=f"{api_url}/v1/codec"
    )
    # The UI decodes histories through the stack's API, from the browser: its origin may call the codec endpoint.
    ui_origins = frozenset({server.ui_address, f"http://localhost:{options.ui_port}"}) if server.ui_address else frozenset()
    endpoints = dataclasses.replace(settings.endpoints, payload_keys=kept.payload_keys, codec_origins=ui_origins)
    try:
        await asyncio.to_thread(store.migrate)
        server.start()
        client = await server.wait_ready(data_converter=encrypting_converter(kept.payload_keys, JOURNEY_DATA_CONVERTER))
        report = await deploy(store, client, journeys, task_queue=DEFAULT_TASK_QUEUE, prune=True)
        keys = settings.api_keys
        app = create_app(
            store,
            client,
            api_keys=keys or None,
            hash_secret=kept.hash_secret,
            auth_disabled=not keys,
            task_queue=DEFAULT_TASK_QUEUE,
            search_attributes=True,
            settings=endpoints,
            temporal_timeout=settings.call_timeout,
        )
        api = EmbeddedServer(uvicorn.Config(app, host=options.host, port=options.api_port, log_level="warning", lifespan="on"))
        worker = build_worker(
            client, store, hash_secret=kept.hash_secret, task_queue=DEFAULT_TASK_QUEUE, providers=providers, delivery=settings.delivery
        )
        async with worker:
            api_task = asyncio.create_task(api.serve())
            while not api.started and not api_task.done():
                await asyncio.sleep(0.05)
            if api_task.done():
                api_task.result()  # raises: the port is taken, say
                raise SystemExit(f"the API could not listen on {options.host}:{options.api_port}")
            announce(
                DevStackInfo(
                    api_url=api_url,
                    temporal_address=server.address,
                    ui_url=server.ui_address,
                    database=shown_url(store.url),
                    auth=bool(keys),
                    report=report,
                    console_login=bool(keys or settings.endpoints.console.password),
                    providers=providers.describe(),
                )
            )
            keeper = asyncio.create_task(_keep_running(server))
            pruners = [asyncio.create_task(prune_every(store, settings.retention))] if settings.retention is not None else []
            runtime = app.state.runtime  # the API's router, whose catalog a redeploy refreshes at once
            watcher = asyncio.create_task(
                redeploy_on_change(
                    options.paths, store, client, task_queue=DEFAULT_TASK_QUEUE, say=say, deployed_now=runtime.router.refresh_catalog
                )
            )
            await _until_stopped(api_task, keeper, watcher)
            api.should_exit = True
            await api_task
            for pruner in pruners:
                pruner.cancel()
            for task in (keeper, watcher):
                if task.done():
                    task.result()  # raises: the server could not be kept running, or the watcher broke
                task.cancel()
    finally:
        store.dispose()
        await asyncio.to_thread(server.stop)


SERVER_RESTARTS = 3
"""Restarts of a Temporal dev server that died, within `SERVER_RESTART_WINDOW`, before `journey dev` gives up."""
SERVER_RESTART_WINDOW = 60.0


async def _keep_running(server: DevServer, every: float = 1.0) -> None:
    """Restart the Temporal dev server whenever it dies; return (by raising) only when it cannot be kept up.

    Its state is on disk, so a restarted server resumes every enrollment where it was, and the worker's
    and the API's clients reconnect by themselves. Without this, a dead server left `journey dev` up and
    degraded, printing the clients' retries. One line says what happened; a server that dies again and
    again (a corrupt database, a full disk) ends `journey dev` with the log's tail instead.
    """
    restarts: list[float] = []
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every)
        code = server.exit_code()
        if code is None:
            continue
        now = loop.time()
        restarts = [at for at in restarts if now - at < SERVER_RESTART_WINDOW] + [now]
        if len(restarts) > SERVER_RESTARTS:
            raise DevServerError(
                f"the Temporal dev server keeps exiting (code {code}, {SERVER_RESTARTS} restarts within"
                f" {SERVER_RESTART_WINDOW:.0f}s); journey dev stops. Its log ({server.log_path}) ends:\n{server.log_tail()}"
            )
        log.warning("the Temporal dev server exited (code %s); restarting it, its state is kept in %s", code, server.data_dir)
        await asyncio.to_thread(server.start)
        await server.wait_ready()
        log.warning("the Temporal dev server is back on %s", server.address)


async def run_worker(settings: WorkerSettings, task_queue: str | None = None, *, create_search_attributes: bool = False) -> None:
    """A worker against the cluster and database the settings name, until SIGINT/SIGTERM.

    Raises StartRefused, before it polls, when the namespace is missing or its search attributes are not registered
    (`create_search_attributes`: register them instead)."""
    providers = build_providers(settings.providers)  # raises ProviderSettingsError before anything starts
    store = open_store(settings.database_url, hash_secret=settings.hash_secret, pool=settings.pool)
    temporal = settings.temporal
    readiness = Readiness(store)
    try:
        await asyncio.to_thread(migrated, store, "journey worker")
        async with serving_ops(settings.ops_http, readiness):  # up first: a worker waiting for Temporal is alive, not ready
            readiness.client = client = await _connect_patiently(temporal)
            await _checked(client, "journey worker", temporal, create_search_attributes)
            queue = task_queue or temporal.task_queue
            worker = build_worker(
                client,
                store,
                hash_secret=settings.hash_secret,
                task_queue=queue,
                search_attributes=temporal.search_attributes,
                providers=providers,
                delivery=settings.delivery,
                graceful_shutdown=settings.shutdown_grace,
            )
            async with worker:
                readiness.worker = "running"
                described = "; ".join(f"{channel}: {provider}" for channel, provider in providers.describe().items())
                log.info("%s", banner("journey worker", temporal, settings.database_url, queue, providers=described))
                watching = asyncio.create_task(watch_temporal(client))
                try:
                    await _until_stopped()
                finally:
                    watching.cancel()
                    readiness.worker = "stopping"
    finally:
        store.dispose()


async def _checked(client: Client, process: str, temporal: TemporalSettings, create_search_attributes: bool) -> None:
    """Refuse to start (StartRefused) on what `check_temporal` finds; log the search attributes it registered."""
    found = await check_temporal(client, search_attributes=temporal.search_attributes, create=create_search_attributes)
    if found.created:
        log.info("registered the search attributes %s in namespace %s", ", ".join(found.created), client.namespace)
    if not found.ok:
        raise StartRefused(process, found.problems)


async def _connect_patiently(settings: TemporalSettings, every: float = 2.0) -> Client:
    """Connect, waiting for Temporal if it is not up yet (a worker started before its cluster, or during a restart).

    One line when it is found unreachable and one when it answers; the attempts between are logged at DEBUG."""
    began: float | None = None
    while True:
        try:
            client = await settings.connect(runtime=sdk_metrics_runtime())  # the SDK's metrics on the ops port's /metrics
        except RuntimeError as exc:  # "Failed client connect: ..."
            if began is None:
                began = time.monotonic()
                log.warning("Temporal at %s is not reachable (%s); trying again every %.0f s", settings.address, exc, every)
            else:
                log.debug("Temporal at %s is still not reachable (%s)", settings.address, exc)
            await asyncio.sleep(every)
            continue
        if began is not None:
            log.warning("Temporal at %s answers, after %.0f s", settings.address, time.monotonic() - began)
        return client


async def _checked_if_reachable(temporal: TemporalSettings, process: str, create_search_attributes: bool) -> None:
    try:
        client = await asyncio.wait_for(temporal.connect(), API_START_WAIT)
    except (RuntimeError, TimeoutError) as exc:
        log.warning("Temporal at %s does not answer (%s): starting without it; /readyz reports it", temporal.address, exc)
        return
    await _checked(client, process, temporal, create_search_attributes)


def run_api(settings: ApiServerSettings, host: str, port: int, *, create_search_attributes: bool = False) -> None:
    """Serve the API on `host:port` until SIGINT/SIGTERM (blocking). The store is migrated first.

    When Temporal answers at start, its namespace and search attributes are checked as the worker's are (StartRefused);
    when it does not, the API starts all the same (events that need no Temporal are accepted) and `/readyz` says why."""
    from orchestrator.api import create_app, serve

    store = open_store(settings.database_url, hash_secret=settings.hash_secret, pool=settings.pool)
    migrated(store, "journey api")
    temporal = settings.temporal
    asyncio.run(_checked_if_reachable(temporal, "journey api", create_search_attributes))
    app = create_app(
        store,
        # Lazy: it starts while Temporal is down, and calls that need it get 503 until it is back. The SDK's metrics on /metrics.
        lambda: temporal.connect(lazy=True, runtime=sdk_metrics_runtime()),
        api_keys=settings.api_keys,
        hash_secret=settings.hash_secret,
        task_queue=temporal.task_queue,
        search_attributes=temporal.search_attributes,
        settings=settings.endpoints,
        temporal_timeout=settings.call_timeout,
    )
    log.info("%s", banner("journey api", temporal, settings.database_url, temporal.task_queue, listening=f"on {host}:{port}"))
    try:
        serve(app, host, port)
    finally:
        store.dispose()


async def run_deploy(
    paths: Iterable[Path],
    settings: DeploySettings,
    *,
    prune: bool,
    migration: Migration | None = None,
    create_search_attributes: bool = False,
) -> DeployReport:
    """`journey deploy`; `migration`: then move that journey's waiting enrollments (checked before anything is deployed)."""
    journeys, warnings = compile_for_deploy(paths)
    store = open_store(settings.database_url)
    try:
        await asyncio.to_thread(migrated, store, "journey deploy")
        moving_to = check_migration(store, journeys, migration) if migration is not None else None
        client = await settings.temporal.connect()
        await _checked(client, "journey deploy", settings.temporal, create_search_attributes)
        report = await deploy(store, client, journeys, task_queue=settings.temporal.task_queue, prune=prune)
        report.warnings = warnings
        if moving_to is not None and migration is not None:
            report.migration = await migrate(store, client, moving_to, migration.mapping)
        return report
    finally:
        store.dispose()


async def _until_stopped(*also: asyncio.Task[None]) -> None:
    """Return on SIGINT or SIGTERM, or when any of `also` ends."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([stopper, *also], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        with contextlib.suppress(asyncio.CancelledError):
            await stopper
