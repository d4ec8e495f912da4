"""The console under test: the API's app over a migrated SQLite store, served by FastAPI's TestClient (no Temporal needed).

The pages read the store only; the app starts on a lazy Temporal client nobody listens to, as
tests/api/test_api_journeys.py does. `TestClient` talks to http://testserver, so the session
cookie (never `Secure` over plain HTTP) goes back with the next request like a browser's would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from temporalio.client import Client
from temporalio.service import RetryConfig

from orchestrator import ir
from orchestrator.api import ApiSettings, create_app
from orchestrator.console.access import ConsoleSettings
from orchestrator.host.devserver import free_port
from orchestrator.store import JourneyFact, Store
from tests.api.support import compiled
from tests.keys import HASH_SECRET

API_KEY = "console-test-key"
PASSWORD = "correct horse battery staple"

CART = """
id: cart
name: Cart reminder
trigger: {event: checkout_started}
goal: {event: order_completed, within: 1d}
steps:
  - id: wait_a_bit
    wait: 1h
  - id: remind
    send: {channel: email, subject: "Your cart", body: "<p>Still there.</p>"}
"""
VIP = """
id: vip
name: VIP welcome
trigger: {segment: "customer.vip == true"}
steps:
  - id: hello
    send: {channel: email, subject: "Hello", body: "<p>Welcome.</p>"}
"""


async def unreachable_temporal() -> Client:
    return await Client.connect(f"127.0.0.1:{free_port()}", lazy=True, retry_config=RetryConfig(max_retries=0))


def migrated_store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'journey.db'}", HASH_SECRET)
    store.migrate()
    return store


def deploy_with_facts(store: Store, now: datetime) -> list[ir.Journey]:
    """cart (with enrollments today, 3, 20 and 40 days ago, some converted, one waiting) and vip (none)."""
    cart, vip = compiled(CART), compiled(VIP)
    with store.session() as session:
        session.deploy(cart, now - timedelta(days=50))
        session.deploy(vip, now - timedelta(days=2))
    facts: list[JourneyFact] = []
    entries = [("e1", 0, None), ("e1b", 0, "waiting"), ("e2", 3, "converted"), ("e3", 3, "completed"), ("e4", 20, "completed"),
               ("e5", 40, "converted")]  # fmt: skip
    # A few minutes before now, but never before today's midnight: "entered today" must hold at 00:02 UTC too.
    since_midnight = now - now.replace(hour=0, minute=0, second=0, microsecond=0)
    earlier = min(timedelta(minutes=5), since_midnight / 2)
    for enrollment, days_ago, end in entries:
        entered_at = now - timedelta(days=days_ago) - earlier
        base = {"journey_id": "cart", "version": cart.version, "enrollment_id": enrollment, "customer_id": f"c-{enrollment}"}
        facts.append(JourneyFact("entered", fact_key="entered", occurred_at=entered_at, **base))
        if end == "converted":
            facts.append(JourneyFact("goal", fact_key="goal", occurred_at=entered_at + timedelta(hours=2), name="order_completed", **base))
        if end in ("converted", "completed"):
            at = entered_at + timedelta(hours=3)
            facts.append(JourneyFact("ended", fact_key="ended", occurred_at=at, step_id="remind", status=end, **base))
    with store.session() as session:
        session.record_facts(facts)
    return [cart, vip]


def app_for(
    store: Store,
    *,
    api_keys: frozenset[str] | None = frozenset({API_KEY}),
    auth_disabled: bool = False,
    console: ConsoleSettings | None = None,
) -> FastAPI:
    settings = ApiSettings(console=console or ConsoleSettings())
    return create_app(
        store, unreachable_temporal, api_keys=api_keys, hash_secret=HASH_SECRET, task_queue="unused", search_attributes=False,
        auth_disabled=auth_disabled, settings=settings,
    )  # fmt: skip


@contextmanager
def console_client(app: FastAPI, base_url: str = "http://testserver") -> Iterator[TestClient]:
    with TestClient(app, base_url=base_url, follow_redirects=False) as client:
        yield client


def log_in(client: TestClient, password: str = API_KEY, next_page: str = "/console") -> None:
    answer = client.post("/console/login", data={"password": password, "next": next_page})
    assert answer.status_code == 303, answer.text


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class TestIds(HTMLParser):
    """The text of every element with a `data-testid`, per id, in document order; and each row's cells by journey."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: dict[str, list[str]] = {}
        self.rows: dict[str, dict[str, str]] = {}
        self.attributes: dict[str, list[dict[str, str | None]]] = {}
        self._open: list[tuple[str, str | None, int]] = []  # (tag, testid, depth)
        self._row: str | None = None
        self._buffers: dict[int, list[str]] = {}
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("data-journey"):
            self._row = found["data-journey"]
            self.rows[self._row] = {}
        testid = found.get("data-testid")
        if testid:
            self.attributes.setdefault(testid, []).append(found)
        if tag in VOID:
            return
        self._depth += 1
        self._open.append((tag, testid, self._depth))
        if testid:
            self._buffers[self._depth] = []

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            opened, testid, depth = self._open.pop()
            self._depth -= 1
            if testid:
                text = " ".join("".join(self._buffers.pop(depth)).split())
                self.texts.setdefault(testid, []).append(text)
                if self._row is not None and testid not in self.rows[self._row]:
                    self.rows[self._row][testid] = text
            if opened == "tr" and self._open and all(t != "tr" for t, _, _ in self._open):
                self._row = None
            if opened == tag:
                break

    def handle_data(self, data: str) -> None:
        for buffer in self._buffers.values():
            buffer.append(data)


def parsed(html: str) -> TestIds:
    parser = TestIds()
    parser.feed(html)
    return parser

