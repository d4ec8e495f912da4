"""`journey dev`, `journey worker`: the processes that run journeys.

`journey dev` is the embedded default stack in one process tree: the Temporal dev
server (SQLite under `.journey/`), one worker and the API, all on 127.0.0.1, with
every journey of a folder deployed. `journey worker` is the worker alone, against
any Temporal cluster and database (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from temporalio.client import Client

from activities.providers import ChannelProviders, providers_from_env
from orchestrator.host.deployment import DeployReport, compile_for_deploy, deploy
from orchestrator.host.devserver import DevServer
from orchestrator.host.temporal_connection import TemporalSettings
from orchestrator.host.worker import DEFAULT_TASK_QUEUE, build_worker
from orchestrator.store import Store

log = logging.getLogger(__name__)


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
    providers: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [
            f"API          {self.api_url}" + ("" if self.auth else "  (no API key needed: set JOURNEY_API_KEYS to require one)"),
            f"Temporal UI  {self.ui_url or '(headless)'}",
            f"Temporal     {self.temporal_address}",
            f"Database     {self.database}",
        ]
        out += [f"{channel:<12} {provider}" for channel, provider in self.providers.items()]
        out.append("Journeys:")
        out += [f"  {line}" for line in self.report.lines()]
        out.append("Ctrl-C stops everything; state is kept for the next start.")
        return out


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the stack owns SIGINT/SIGTERM and stops the parts in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def api_keys_from_env() -> frozenset[str]:
    return frozenset(key.strip() for key in os.environ.get("JOURNEY_API_KEYS", "").split(",") if key.strip())


def channel_providers(providers: ChannelProviders | None = None) -> dict[str, str]:
    """Which provider delivers each channel: SendGrid, Twilio, FCM where their credentials are set, else the sandbox (the outbox)."""
    return (providers if providers is not None else providers_from_env()).describe()


async def run_dev(options: DevOptions, announce: Callable[[DevStackInfo], None]) -> None:
    """Run the stack until SIGINT/SIGTERM.

    Raises DeployRefused on journey errors and ProviderSettingsError on provider settings, before starting anything.
    """
    from orchestrator.api import create_app

    journeys, _ = compile_for_deploy(options.paths)
    providers = providers_from_env()  # raises ProviderSettingsError before anything starts
    store = Store.from_env(default_dir=options.data_dir)
    server = DevServer(options.data_dir, ip=options.host, port=options.temporal_port, ui_port=options.ui_port)
    try:
        await asyncio.to_thread(store.migrate)
        server.start()
        client = await server.wait_ready()
        report = await deploy(store, client, journeys, task_queue=DEFAULT_TASK_QUEUE, prune=True)
        keys = api_keys_from_env()
        app = create_app(
            store, client, api_keys=keys or None, auth_disabled=not keys, task_queue=DEFAULT_TASK_QUEUE, search_attributes=True
        )
        api = EmbeddedServer(uvicorn.Config(app, host=options.host, port=options.api_port, log_level="warning", lifespan="on"))
        async with build_worker(client, store, task_queue=DEFAULT_TASK_QUEUE, providers=providers):
            api_task = asyncio.create_task(api.serve())
            while not api.started and not api_task.done():
                await asyncio.sleep(0.05)
            if api_task.done():
                api_task.result()  # raises: the port is taken, say
                raise SystemExit(f"the API could not listen on {options.host}:{options.api_port}")
            announce(
                DevStackInfo(
                    api_url=f"http://{options.host}:{options.api_port}",
                    temporal_address=server.address,
                    ui_url=server.ui_address,
                    database=_shown_url(store.url),
                    auth=bool(keys),
                    report=report,
                    providers=channel_providers(providers),
                )
            )
            await _until_stopped(api_task)
            api.should_exit = True
            await api_task
    finally:
        store.dispose()
        await asyncio.to_thread(server.stop)


async def run_worker(task_queue: str | None = None) -> None:
    """A worker against the cluster and database the environment names, until SIGINT/SIGTERM."""
    settings = TemporalSettings.from_env()
    providers = providers_from_env()  # raises ProviderSettingsError before anything starts
    store = Store.from_env()
    try:
        await asyncio.to_thread(store.migrate)
        client = await _connect_patiently(settings)
        queue = task_queue or settings.task_queue
        async with build_worker(client, store, task_queue=queue, search_attributes=settings.search_attributes, providers=providers):
            await _until_stopped()
    finally:
        store.dispose()


async def _connect_patiently(settings: TemporalSettings, every: float = 2.0) -> Client:
    """Connect, waiting for Temporal if it is not up yet (a worker started before its cluster, or during a restart)."""
    while True:
        try:
            return await settings.connect()
        except RuntimeError as exc:  # "Failed client connect: ..."
            log.warning("Temporal at %s is not reachable (%s); trying again in %.0fs", settings.address, exc, every)
            await asyncio.sleep(every)


async def run_deploy(paths: Iterable[Path], *, prune: bool) -> DeployReport:
    journeys, warnings = compile_for_deploy(paths)
    settings = TemporalSettings.from_env()
    store = Store.from_env()
    try:
        await asyncio.to_thread(store.migrate)
        client = await settings.connect()
        report = await deploy(store, client, journeys, task_queue=settings.task_queue, prune=prune)
        report.warnings = warnings
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


def _shown_url(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
