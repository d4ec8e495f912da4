"""The API under test, on a real Temporal dev server with a real worker (fixtures are in conftest.py)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from sqlalchemy import Table, func, select
from temporalio.client import Client
from temporalio.service import RetryConfig

from orchestrator import ir
from orchestrator.api import create_app
from orchestrator.api.state import ApiRuntime
from orchestrator.compiler import compile_file, compile_text
from orchestrator.host.devserver import free_port
from orchestrator.host.worker import build_worker
from orchestrator.routing.calls import TemporalCall
from orchestrator.routing.gateway import LoopGateway
from orchestrator.store import Store
from tests.keys import HASH_SECRET

JOURNEYS = Path(__file__).parents[2] / "journeys"
API_KEY = "test-key-1"
AUTH = {"Authorization": f"Bearer {API_KEY}"}

QUICK_CART = """
id: quick_cart
name: Quick cart
trigger:
  event: checkout_started
  where: "event.cart_value >= 20"
entry:
  audience: "customer.country in ['US', 'CA']"
  re_entry: never
goal:
  event: order_completed
  within: 7d
exit_on: [unsubscribed]
steps:
  - id: wait_a_moment
    wait: 1s
  - id: reminder
    send:
      channel: email
      subject: "{{ customer.first_name | default('Hi') }}, you left something behind"
      body: "<p>Your cart of {{ event.cart_value }} is waiting.</p>"
  - id: opened
    wait_for:
      event: email_opened
      within: 2d
      timeout_next: nudge
  - id: thanks
    send: {channel: email, subject: "Glad you had a look", body: "<p>See you soon.</p>"}
    next: end
  - id: nudge
    send: {channel: push, title: "Still thinking?", body: "Your cart is saved for you."}
"""
"""The abandoned cart with a 1 s first wait and no quiet hours: its first message comes at once, at any hour."""


def compiled(text: str, name: str = "inline.yaml") -> ir.Journey:
    result = compile_text(text, file=name, directory=JOURNEYS)
    assert result.journey is not None, result.diagnostics
    return result.journey


def shipped_journeys() -> list[ir.Journey]:
    """Every journey in journeys/, compiled."""
    out = []
    for path in sorted(JOURNEYS.glob("*.yaml")):
        result = compile_file(path)
        assert result.journey is not None, result.diagnostics
        out.append(result.journey)
    return out


def count_rows(store: Store, table: Table, **where: Any) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with store.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float = 15.0, what: str = "condition") -> T:
    """Poll `probe` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)


async def first_messages(stack: Stack, user: str, count: int = 1) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        messages = await stack.messages(user)
        return messages if len(messages) >= count else None

    return await eventually(probe, what=f"{count} message(s) for {user}")


class SpyGateway:
    """The real gateway, counting the Temporal calls routing makes through it."""

    def __init__(self, real: LoopGateway) -> None:
        self.real = real
        self.calls: list[TemporalCall] = []

    def execute(self, calls: Sequence[TemporalCall]) -> list[bool]:
        self.calls.extend(calls)
        return self.real.execute(calls)


@dataclass
class Stack:
    app: FastAPI
    http: httpx.AsyncClient
    store: Store
    temporal: Client
    task_queue: str
    spy: SpyGateway = field(init=False)

    def __post_init__(self) -> None:
        runtime = self.app.state.runtime
        assert isinstance(runtime, ApiRuntime)
        assert isinstance(runtime.gateway, LoopGateway)
        self.spy = SpyGateway(runtime.gateway)
        runtime.router.gateway = self.spy

    async def deploy(self, *journeys: ir.Journey) -> None:
        """Deploy as `journey deploy` from another process would, then tell the API to reload."""
        with self.store.session() as session:
            for journey in journeys:
                session.deploy(journey, datetime.now(UTC))
        answer = await self.http.post("/v1/admin/reload")
        assert answer.status_code == 200, answer.text

    async def identify(self, user: str, **traits: Any) -> httpx.Response:
        return await self.http.post("/v1/identify", json={"userId": user, "traits": traits})

    async def track(self, user: str, event: str, message_id: str | None = None, **properties: Any) -> httpx.Response:
        body: dict[str, Any] = {"userId": user, "event": event, "properties": properties}
        if message_id:
            body["messageId"] = message_id
        return await self.http.post("/v1/track", json=body)

    async def messages(self, user: str) -> list[dict[str, Any]]:
        answer = await self.http.get(f"/v1/customers/{user}/messages")
        assert answer.status_code == 200, answer.text
        messages: list[dict[str, Any]] = answer.json()["messages"]
        return messages

    async def journeys(self, user: str) -> list[dict[str, Any]]:
        answer = await self.http.get(f"/v1/customers/{user}/journeys")
        assert answer.status_code == 200, answer.text
        journeys: list[dict[str, Any]] = answer.json()["journeys"]
        return journeys

    async def workflow_count(self) -> int:
        """Workflows ever started on this stack's task queue (visibility lags a little; poll it)."""
        return (await self.temporal.count_workflows(f"TaskQueue = '{self.task_queue}'")).count


@asynccontextmanager
async def running_app(app: FastAPI, *, headers: dict[str, str] | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """`app` with its lifespan run, behind an httpx client (ASGI transport: no sockets)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test", headers=headers or {}) as http:
            yield http


@asynccontextmanager
async def open_stack(
    tmp_path: Path,
    temporal: Client,
    *,
    connect: Callable[[], Awaitable[Client]] | None = None,
    worker: bool = True,
    temporal_timeout: timedelta = timedelta(seconds=10),
    catalog_refresh: timedelta = timedelta(seconds=5),
    database_url: str | None = None,
) -> AsyncIterator[Stack]:
    """A migrated store (SQLite in `tmp_path` unless `database_url`), a worker on a fresh task queue, and the app over them."""
    store = Store(database_url or f"sqlite:///{tmp_path / f'journey-{uuid.uuid4().hex[:8]}.db'}", HASH_SECRET)
    store.migrate()
    task_queue = f"api-test-{uuid.uuid4()}"
    app = create_app(
        store,
        connect or temporal,
        api_keys=frozenset({API_KEY, "test-key-2"}),
        hash_secret=HASH_SECRET,
        task_queue=task_queue,
        search_attributes=True,
        catalog_refresh=catalog_refresh,
        temporal_timeout=temporal_timeout,
    )
    try:
        async with running_app(app, headers=AUTH) as http:
            stack = Stack(app, http, store, temporal, task_queue)
            if not worker:
                yield stack
                return
            async with build_worker(temporal, store, hash_secret=HASH_SECRET, task_queue=task_queue):
                yield stack
    finally:
        store.dispose()


async def unreachable_temporal() -> Client:
    """A client for a port nobody listens on (lazy: the API starts, every call then fails)."""
    return await Client.connect(f"127.0.0.1:{free_port()}", lazy=True, retry_config=RetryConfig(max_retries=0))
