"""`journey customers export` and `journey customers erase`: one customer's rights, served from the command line.

They work on the store directly (and, to erase, on Temporal), as the API's routes do
(orchestrator/api/customers.py, orchestrator/api/rights.py): an operator answering a request
needs neither a running API nor an API key, only the environment a worker has.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.host.local_keys import kept_hash_secret
from orchestrator.host.settings import CustomerSettings, open_store
from orchestrator.routing.erasure import ErasureReport, erase_customer
from orchestrator.routing.gateway import LoopGateway
from orchestrator.store import Store
from orchestrator.store.export import read_export

CLI_CALLER = "cli"
"""Who the audit row says asked, for an erasure from the command line."""


def export_customer(settings: CustomerSettings, customer_id: str, data_dir: Path) -> dict[str, Any] | None:
    """The customer's export document (docs/privacy.md, "Export"); None if the store holds no profile for them."""
    store = _store(settings, data_dir)
    try:
        with store.read() as session:
            found = read_export(session, customer_id)
        return found.document(datetime.now(UTC)) if found is not None else None
    finally:
        store.dispose()


async def erase_from_cli(settings: CustomerSettings, customer_id: str, data_dir: Path) -> ErasureReport:
    """Erase the customer (docs/privacy.md, "Erasure") through the Temporal of the environment; raises TemporalUnavailable."""
    store = _store(settings, data_dir)
    try:
        await asyncio.to_thread(store.migrate)
        client = await settings.temporal.connect()
        temporal, loop = settings.temporal, asyncio.get_running_loop()
        gateway = LoopGateway(client, loop, task_queue=temporal.task_queue, search_attributes=temporal.search_attributes)
        return await asyncio.to_thread(erase_customer, store, gateway, customer_id, CLI_CALLER)
    finally:
        store.dispose()


def _store(settings: CustomerSettings, data_dir: Path) -> Store:
    """The store, with the hash secret of the processes that wrote it: JOURNEY_HASH_SECRET, else the one `journey dev` keeps."""
    return open_store(settings.database_url, data_dir, settings.hash_secret or kept_hash_secret(data_dir))
