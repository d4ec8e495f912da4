"""The column types every table uses: timestamps that are UTC on both databases, free-form JSON, 64-bit ids.

`utc` is the one rule for what a timestamp must be before it is stored; the store's modules import it (from here,
or through schema.py) to refuse a naive datetime where it enters.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB


def utc(value: datetime, what: str = "datetime") -> datetime:
    """`value` in UTC; a naive datetime is a bug in the caller (whose clock was it?), so it is refused."""
    if value.tzinfo is UTC:  # most are (datetime.now(UTC), ISO text ending +00:00): no new object
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that goes in timezone-aware and comes out timezone-aware UTC, on every database.

    PostgreSQL stores `timestamptz`; SQLite has no such type, so the UTC wall time is
    stored (as SQLAlchemy's fixed-width text, which sorts correctly) and UTC is attached on read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        # On SQLite, straight to SQLAlchemy's text form ("2026-03-02 12:00:00.000000", what its DATETIME
        # writes) in C: the generic chain (this decorator, then the dialect's %-formatting) runs in Python
        # for every timestamp of every send (bench/send_path.py). A test keeps the two forms equal.
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            return utc(value).isoformat(" ", "microseconds")[:26]  # without its "+00:00"

        return process

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], datetime | None] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        generic = super().result_processor(dialect, coltype)

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if isinstance(value, str) and len(value) == 26:  # the form `bind_processor` writes
                return datetime.fromisoformat(value).replace(tzinfo=UTC)
            return generic(value) if generic is not None else value

        return process


JSONData = JSON().with_variant(JSONB(), "postgresql")
"""Free-form JSON: jsonb on PostgreSQL (smaller, indexable), JSON text on SQLite."""

AutoId: Any = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit identity; on SQLite an INTEGER PRIMARY KEY, the only type that autoincrements there."""
