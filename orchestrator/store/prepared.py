"""Prepared statements: Core statements SQLAlchemy compiles once per database, run on the driver's cursor.

`Connection.execute` spends more Python on each statement (a cache lookup, an
execution context, a result object) than a short statement costs the database
itself, and far more than the same statement on the DB-API cursor. Every
message runs the send path's statements, so they go through `Prepared`
instead (bench/send_path.py measures that path). It keeps the one code path: the statement is
written once in SQLAlchemy Core, SQLAlchemy compiles it for SQLite or
PostgreSQL and supplies each column type's conversions (UTC timestamps as text
on SQLite, JSON), and both drivers speak DB-API 2.0. Driver errors come out as
SQLAlchemy's (`sqlalchemy.exc.OperationalError` and so on), as from `execute`.

What it does not do, and refuses at compile time rather than get wrong:
expanding IN lists and column defaults computed in Python. Engine events
(`before_cursor_execute`, echo) do not see these statements.
"""

from __future__ import annotations

import json
import re
from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import Executable

_PYFORMAT_NAME = re.compile(r"%\(([^)]+)\)s")

_Processor = Callable[[Any], Any] | None
_NO_VALUE = object()


@dataclass(frozen=True)
class _Bind:
    name: str
    key: str
    literal: Any
    """The value a comparison with a constant carries (`status == 'intent'`); `_NO_VALUE` when the caller must pass `key`."""
    process: _Processor


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    binds: tuple[_Bind, ...]
    row: type[tuple[Any, ...]] | None
    results: tuple[_Processor, ...]


class Prepared:
    """One statement, compiled on first use for each dialect and set of parameter names.

    INSERT and UPDATE take their columns from the parameters, as with `Connection.execute`,
    so each set of names is its own compiled form.
    """

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._forms: dict[tuple[str, frozenset[str]], _Compiled] = {}

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[Any]:
        """Every row the statement returns, as named tuples with the types' conversions applied."""
        form = self._form(connection.dialect, params)
        if form.row is None:
            raise TypeError("the statement returns no rows; use Prepared.run")
        cursor = self._execute(form, connection, params)
        try:
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        make, results = form.row._make, form.results  # type: ignore[attr-defined]
        return [make([v if process is None else process(v) for process, v in zip(results, raw, strict=True)]) for raw in fetched]

    def first(self, connection: Connection, params: Mapping[str, Any]) -> Any | None:
        rows = self.rows(connection, params)
        return rows[0] if rows else None

    def run(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """Execute for its effect; the number of rows it changed."""
        cursor = self._execute(self._form(connection.dialect, params), connection, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def _form(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        key = (dialect.name, frozenset(params))
        form = self._forms.get(key)
        if form is None:
            form = self._forms[key] = self._compile(dialect, key[1])
        return form

    @staticmethod
    def _execute(form: _Compiled, connection: Connection, params: Mapping[str, Any]) -> Any:
        """The driver's cursor, after executing `form` with `params`."""
        dialect = connection.dialect
        values = []
        for bind in form.binds:
            value = bind.literal if bind.literal is not _NO_VALUE else params[bind.key]
            values.append(value if bind.process is None else bind.process(value))
        arguments: Any = values if form.positional else {bind.name: value for bind, value in zip(form.binds, values, strict=True)}
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(form.sql, arguments)
        except dialect.loaded_dbapi.Error as error:
            cursor.close()
            raise exc.DBAPIError.instance(form.sql, arguments, error, dialect.loaded_dbapi.Error, dialect=dialect) from error
        return cursor

    def _compile(self, dialect: Dialect, names: frozenset[str]) -> _Compiled:
        compiled: Any = self.statement.compile(dialect=dialect, column_keys=sorted(names))
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise NotImplementedError("Prepared cannot compute column defaults in Python; pass every column")
        if any(parameter.expanding or parameter.literal_execute for parameter in compiled.binds.values()):
            raise NotImplementedError("Prepared cannot expand IN lists; use Connection.execute")
        # The names in the SQL text, in order for a positional driver; SQLAlchemy escapes a few characters in them.
        original = {escaped: name for name, escaped in (compiled.escaped_bind_names or {}).items()}
        if compiled.positional:
            order = list(compiled.positiontup)
        else:
            order = list(dict.fromkeys(_PYFORMAT_NAME.findall(compiled.string)))
        binds = []
        for name in order:
            parameter = compiled.binds[original.get(name, name)]
            literal = _NO_VALUE if parameter.key in names or parameter.required else parameter.effective_value
            if literal is _NO_VALUE and parameter.key not in names:
                raise KeyError(f"parameter {parameter.key!r} missing")
            process = parameter.type.dialect_impl(dialect).bind_processor(dialect)
            binds.append(_Bind(name, parameter.key, literal, process))
        columns = list(getattr(self.statement, "exported_columns", ()))
        row = namedtuple("Row", [column.key for column in columns]) if columns else None  # type: ignore[misc]
        results = tuple(_result_processor(column.type, dialect) for column in columns)
        return _Compiled(compiled.string, bool(compiled.positional), tuple(binds), row, results)


def _result_processor(type_: Any, dialect: Dialect) -> _Processor:
    """The column type's result conversion; JSON text from SQLite decoded with `json.loads` directly.

    SQLAlchemy's SQLite JSON conversion goes through two wrappers around `json.loads` for every
    value; a profile read decodes two JSON columns, on every send.
    """
    impl = type_.dialect_impl(dialect)
    generic: _Processor = impl.result_processor(dialect, None)
    if dialect.name != "sqlite" or not isinstance(impl, JSON) or generic is None:
        return generic
    other: Callable[[Any], Any] = generic  # numbers from JSON functions, and anything else that is not text

    def process(value: Any) -> Any:
        return json.loads(value) if type(value) is str else other(value)

    return process
