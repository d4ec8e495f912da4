"""What the store holds, read straight from the SQLite file, read-only.

The tests check the tables themselves (outbox, delivery ledger, events, enrollments,
profiles) rather than the store's own read functions, and never take the write
lock the running processes compete for.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StoreView:
    path: Path

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            connection.row_factory = sqlite3.Row
            return [dict(row) for row in connection.execute(sql, params)]
        finally:
            connection.close()

    def count(self, table: str, where: str = "1 = 1", *params: Any) -> int:
        (row,) = self.rows(f"SELECT count(*) AS n FROM {table} WHERE {where}", *params)
        return int(row["n"])

    def outbox(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM outbox_messages ORDER BY id")

    def deliveries(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM deliveries ORDER BY enrollment_id, step_id, visit")

    def enrollments(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM enrollments ORDER BY customer_id, entered_at")

    def events(self, message_id: str) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM events WHERE message_id = ?", message_id)

    def profile(self, customer_id: str) -> dict[str, Any] | None:
        found = self.rows("SELECT * FROM profiles WHERE customer_id = ?", customer_id)
        return found[0] if found else None

    def statuses(self) -> Counter[str]:
        """How many enrollments are in each status."""
        return Counter(row["status"] for row in self.enrollments())
