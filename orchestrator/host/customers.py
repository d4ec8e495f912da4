"""`journey customers export` and `journey customers erase`: one customer's rights, served from the command line.

They work on the store directly (and, to erase, on Temporal), as the API's routes do
(orchestrator/api/customers.py, orchestrator/api/rights.py): an operator answering a request
needs neither a running API nor an API key, only the environment a worker has.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.host.settings import CustomerSettings, open_store
from orchestrator.store.export import read_export


def export_customer(settings: CustomerSettings, customer_id: str, data_dir: Path) -> dict[str, Any] | None:
    """The customer's export document (docs/privacy.md, "Export"); None if the store holds no profile for them."""
    store = open_store(settings.database_url, data_dir)
    try:
        with store.read() as session:
            found = read_export(session, customer_id)
        return found.document(datetime.now(UTC)) if found is not None else None
    finally:
        store.dispose()
