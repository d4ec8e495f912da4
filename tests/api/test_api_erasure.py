"""DELETE /v1/customers/{id}: a customer through several journeys, erased, is nowhere in the store's or Temporal's files."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import urllib.parse
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from click.testing import CliRunner
from sqlalchemy import text
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from orchestrator.cli import main
from orchestrator.host.binaries import temporal_cli
from orchestrator.host.devserver import SQLITE_PRAGMAS
from orchestrator.privacy.payload_codec import encrypting_converter
from orchestrator.runtime.search_attributes import SEARCH_ATTRIBUTES
from orchestrator.simulation.simulator import quiet_runtime
from orchestrator.store import Store
from orchestrator.store.schema import metadata
from orchestrator.store.values import ProviderEvent
from tests.api.support import QUICK_CART, Stack, compiled, eventually, open_stack
from tests.keys import KEYS_ENVIRONMENT, PAYLOAD_KEYS

pytestmark = pytest.mark.asyncio(loop_scope="session")

ANN = "annabel.leeworth@example.com"
"""Her customer id is her e-mail address, as many shops' are."""
NEEDLES = (ANN, "Leeworth", "Annabel", "4155552671")
"""What must be nowhere after the erasure: id (and e-mail), names, phone number."""

HELLO_SMS = """
id: hello_sms
name: Hello by SMS
trigger: {event: signed_up}
steps:
  - id: hello
    send: {channel: sms, category: transactional, body: "Hi {{ customer.first_name }}, welcome aboard"}
"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def temporal_on_disk(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Client, Path]]:
    """A dev server whose state is a SQLite file, as `journey dev` keeps it (orchestrator/host/devserver.py), and a client
    that encrypts payloads as every production process does (orchestrator/privacy/payload_codec.py)."""
    folder = tmp_path_factory.mktemp("temporal")
    pragmas = [arg for pragma in SQLITE_PRAGMAS for arg in ("--sqlite-pragma", pragma)]
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        dev_server_database_filename=str(folder / "temporal.db"),
        dev_server_extra_args=pragmas,
        search_attributes=SEARCH_ATTRIBUTES,
        runtime=quiet_runtime(),
        dev_server_log_level="error",
        ui=False,
        data_converter=encrypting_converter(PAYLOAD_KEYS),
    ) as env:
        yield env.client, folder


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'journey.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest_asyncio.fixture(loop_scope="session")
async def stack(tmp_path: Path, temporal_on_disk: tuple[Client, Path], database_url: str) -> AsyncIterator[Stack]:
    async with open_stack(tmp_path, temporal_on_disk[0], database_url=database_url) as opened:
        yield opened


async def ann_through_two_journeys(stack: Stack, customer_id: str) -> list[str]:
    """Ann identified, her cart reminder sent (that enrollment waits on), her welcome SMS sent (that one completed)."""
    await stack.deploy(compiled(QUICK_CART), compiled(HELLO_SMS, "hello_sms.yaml"))
    traits = {"email": ANN, "first_name": "Annabel", "last_name": "Leeworth", "phone": "+1 415 555 2671", "country": "US"}
    assert (await stack.identify(customer_id, **traits, sms_opt_in=True)).status_code == 200
    assert (await stack.track(customer_id, "checkout_started", cart_value=50, note="for Annabel Leeworth")).status_code == 200
    assert (await stack.track(customer_id, "signed_up")).status_code == 200
    messages = await eventually(lambda: _two(stack.messages(customer_id)), what="the reminder and the SMS")
    assert {m["channel"] for m in messages} == {"email", "sms"}
    with stack.store.session() as session:  # what SendGrid would have reported about the reminder
        (reminder,) = [d for d in session.deliveries_for(customer_id) if d.channel == "email"]
        now = datetime.now(UTC)
        session.record_provider_events(
            [ProviderEvent("sendgrid", "ev-1", "open", now, now, customer_id, reminder.enrollment_id, reminder.step_id, 1, ANN)]
        )
    return [journey["enrollment_id"] for journey in await stack.journeys(customer_id)]


async def _two(messages: Any) -> list[dict[str, Any]] | None:
    found: list[dict[str, Any]] = await messages
    return found if len(found) == 2 else None


async def erase(stack: Stack, customer_id: str) -> dict[str, Any]:
    answer = await stack.http.delete(f"/v1/customers/{urllib.parse.quote(customer_id)}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def gone_from_temporal(client: Client, enrollment_ids: list[str]) -> bool:
    for enrollment_id in enrollment_ids:
        try:
            await client.get_workflow_handle(enrollment_id).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                continue
            raise
        return False
    return True


def found_in_files(folder: Path) -> dict[str, list[str]]:
    """Each file under `folder` (databases, their -wal and -shm) in which a needle is in clear, and which ones."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        content = path.read_bytes()
        hits = [needle for needle in NEEDLES if needle.encode() in content]
        if hits:
            found[path.name] = hits
    return found


def found_in_live_rows(database: Path, scratch: Path) -> dict[str, list[str]]:
    """Each table of a SQLite database (read from a copy: the server has it open) with a row holding a needle in clear."""
    copy = scratch.parent / f"{scratch.name}-copy"
    shutil.copytree(scratch, copy, dirs_exist_ok=True)
    found: dict[str, list[str]] = {}
    connection = sqlite3.connect(copy / database.name)
    try:
        for (table,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            hits: set[str] = set()
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    data = value if isinstance(value, bytes) else str(value).encode()
                    hits.update(needle for needle in NEEDLES if needle.encode() in data)
            if hits:
                found[table] = sorted(hits)
    finally:
        connection.close()
        shutil.rmtree(copy)
    return found


def found_in_rows(store: Store) -> dict[str, list[str]]:
    """Each table of the store with a row in which a needle is in clear, as the database's text of the row."""
    found: dict[str, list[str]] = {}
    with store.engine.connect() as connection:
        for table in metadata.tables:
            rows = connection.execute(text(f"SELECT CAST(t AS text) FROM {table} AS t")).scalars()  # PostgreSQL: the whole row
            hits = sorted({needle for row in rows for needle in NEEDLES if needle in row})
            if hits:
                found[table] = hits
    return found


async def test_an_erased_customer_is_nowhere_in_the_store_or_temporal(stack: Stack, temporal_on_disk: tuple[Client, Path]) -> None:
    client, temporal_folder = temporal_on_disk
    enrollments = await ann_through_two_journeys(stack, ANN)
    assert len(enrollments) == 2

    answer = await erase(stack, ANN)

    assert (answer["enrollments_ended"], answer["histories_deleted"], answer["earlier_erasures"]) == (1, 2, 0)
    assert answer["requested_by"].startswith("api-key:") and "test-key" not in answer["requested_by"]
    removed = answer["removed"]
    assert (removed["profiles"], removed["enrollments"], removed["outbox_messages"], removed["deliveries"]) == (1, 2, 2, 2)
    assert removed["provider_events"] == 1 and removed["events"] >= 3 and removed["consent_records"] == 1
    assert removed["suppressed_addresses"] == 2  # her e-mail address and her number, as keyed hashes
    # Temporal deletes a closed run once its closing tasks are acknowledged: within a minute on the dev server.
    await eventually(lambda: gone_from_temporal(client, enrollments), timeout=90, what="Temporal to delete the histories")

    assert (await stack.http.get(f"/v1/customers/{urllib.parse.quote(ANN)}/export")).status_code == 404
    if stack.store.dialect == "sqlite":
        assert found_in_files(Path(stack.store.engine.url.database or "").parent) == {}
    else:
        assert found_in_rows(stack.store) == {}
    # Temporal's database holds no row with her data; the bytes of the deleted rows stay in the free space of its pages
    # (the server does not overwrite them), but her payloads were encrypted and her ids keyed: no byte of its files says her.
    assert found_in_live_rows(temporal_folder / "temporal.db", temporal_folder) == {}
    assert found_in_files(temporal_folder) == {}


async def test_erasing_again_removes_nothing_more_and_says_so(stack: Stack) -> None:
    await stack.identify("cy", email="cy@example.com")
    first = await erase(stack, "cy")
    again = await erase(stack, "cy")
    assert first["removed"]["profiles"] == 1
    assert (again["removed"], again["earlier_erasures"], again["histories_deleted"]) == ({"suppressed_addresses": 0}, 1, 0)


async def test_an_erased_address_is_not_messaged_until_new_consent(stack: Stack) -> None:
    await stack.identify("dee", email="dee@example.com", email_opt_in=True)
    await erase(stack, "dee")
    await stack.identify("dee-2", email="DEE@example.com")  # a later import of the same address, as another customer

    def consent(user: str) -> tuple[bool, list[tuple[str, bool, str]]]:
        with stack.store.read() as session:
            profile = session.get_profile(user)
            records = [(r.channel, r.opted_in, r.source) for r in session.consent_records_for(user)]
        assert profile is not None
        return profile.consent["email"], records

    assert consent("dee-2") == (False, [("email", False, "erased_address")])
    later = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    opt_in = {"userId": "dee-2", "timestamp": later, "traits": {"email_opt_in": True}}
    assert (await stack.http.post("/v1/identify", json=opt_in)).status_code == 200  # new consent, after the erasure
    assert consent("dee-2") == (True, [("email", False, "erased_address"), ("email", True, "identify")])


async def test_calls_for_a_customer_being_erased_are_refused_and_nothing_is_sent_to_them(stack: Stack) -> None:
    await stack.identify("eve", email="eve@example.com")
    with stack.store.session(lock_customer="eve") as session:
        session.begin_erasure("eve", "test", datetime.now(UTC))  # the tombstone, as step 1 of an erasure writes it
    answer = await stack.identify("eve", first_name="Eve")
    assert answer.status_code == 503 and "being erased" in answer.text


async def test_journey_customers_erase_does_it_from_the_command_line(stack: Stack) -> None:
    await stack.identify("fay", email="fay@example.com")
    environment = KEYS_ENVIRONMENT | {"DATABASE_URL": stack.store.url, "TEMPORAL_ADDRESS": stack.temporal.service_client.config.target_host}
    ran = await asyncio.to_thread(CliRunner().invoke, main, ["customers", "erase", "fay"], env=environment)
    assert ran.exit_code == 0, ran.output
    report = json.loads(ran.output)
    assert (report["requested_by"], report["removed"]["profiles"]) == ("cli", 1)
    with stack.store.read() as session:
        assert session.get_profile("fay") is None
