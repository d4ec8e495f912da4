"""`Queries`: what every part of a store session works with, its connection and the dialect's INSERT.

Each concern of the store (leases, profiles, the ledger...) is a subclass of it in a module of
its own, and `StoreSession` (orchestrator/store/session.py) combines them.
One code path for SQLite and PostgreSQL: SQLAlchemy Core, with the dialect's own INSERT for
`ON CONFLICT DO NOTHING` (both databases speak it, and both return only the inserted rows
from `RETURNING`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from orchestrator.privacy.keyed_hash import HashSecret
from orchestrator.store.hashes import DEVELOPMENT_SECRET


class Queries:
    """The connection of one store session, in the transaction of the `Store.session()` that made it."""

    def __init__(self, connection: Connection, hash_secret: HashSecret = DEVELOPMENT_SECRET) -> None:
        self._conn = connection
        self._dialect = connection.dialect.name
        self._secret = hash_secret
        """Keys the hashes kept instead of personal data (orchestrator/store/hashes.py)."""

    def _insert(self, table: Table) -> Any:
        """The dialect's INSERT, which has `on_conflict_do_nothing`."""
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        if self._dialect == "sqlite":
            return sqlite.insert(table)
        raise NotImplementedError(f"the store supports SQLite and PostgreSQL, not {self._dialect}")

    def _insert_new(self, statement: Insert) -> bool:
        """Run an INSERT ... ON CONFLICT DO NOTHING; True if it inserted the row.

        Told by RETURNING, not `rowcount`: SQLAlchemy keeps an INSERT's rowcount only on request,
        and psycopg then reports -1, so every insert would look like a conflict on PostgreSQL.
        """
        return self._conn.execute(statement.returning(*statement.table.primary_key.columns)).first() is not None
