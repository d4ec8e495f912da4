"""Alembic environment for the store. There is no alembic.ini: `Store.migrate()` builds the config
and hands over an open connection (in `config.attributes["connection"]`), inside its transaction.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from orchestrator.store.schema import metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run store migrations through orchestrator.store.Store.migrate()")
run_migrations(connection)
