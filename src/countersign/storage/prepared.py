"""Hot statements compiled once and run on SQLite's own cursor.

``Connection.execute`` costs 15-20 µs of Python per statement even when SQLAlchemy's
compiled cache hits (cache key, execution context, parameter processing, a Result),
while SQLite itself answers a small indexed statement in 2-3 µs. identify runs a few
statements per request on the event loop, so that overhead set its speed.

A :class:`Prepared` statement is an ordinary Core statement. On SQLite it is compiled
once per dialect, and each call applies SQLAlchemy's own bind and result processors
(aware datetimes, JSON, booleans: the stored bytes are the same as through
``Connection.execute``) and runs the SQL on the DBAPI connection inside the caller's
transaction. Driver errors are wrapped as SQLAlchemy wraps them. Every other database
takes the ordinary ``Connection.execute`` path: a network round trip dwarfs the Python.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

Processor = Callable[[Any], Any] | None
_REQUIRED: Final = object()


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    binds: tuple[tuple[str, Any], ...]  # name, fixed value (or _REQUIRED), in order
    processed: tuple[tuple[int, Callable[[Any], Any]], ...]  # position, bind processor
    results: tuple[Processor, ...]


class Prepared:
    """``statement`` (``postgresql=`` another spelling of it for PostgreSQL, for
    dialect-specific constructs such as ``ON CONFLICT``), run with named parameters.

    Values are bind parameters (all required) or SQL expressions. A column left out
    gets its scalar Python default (``default=0``) as through SQLAlchemy; one whose
    default only SQLAlchemy's execution can compute (a callable) makes the statement
    fail at its first call, never store NULL silently.
    """

    def __init__(self, statement: Executable, *, postgresql: Executable | None = None) -> None:
        self._statement = statement
        self._by_dialect = {"postgresql": statement if postgresql is None else postgresql}
        self._compiled: weakref.WeakKeyDictionary[Dialect, _Compiled] = weakref.WeakKeyDictionary()

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run it; the rows it returns (none for a plain INSERT or UPDATE)."""
        dialect = connection.dialect
        if dialect.name != "sqlite":
            statement = self._by_dialect.get(dialect.name, self._statement)
            result = connection.execute(statement, dict(params))
            return [tuple(row) for row in result] if result.returns_rows else []
        compiled = self._compiled_for(dialect)
        values = _values(compiled, params)
        try:
            cursor = connection.connection.driver_connection.execute(compiled.sql, values)  # type: ignore[union-attr]
            raw = cursor.fetchall() if compiled.results else []
        except dialect.loaded_dbapi.Error as error:
            raise driver_error(dialect, compiled.sql, values, error) from error
        if not raw:
            return []
        processors = compiled.results
        return [
            tuple(p(v) if p is not None else v for p, v in zip(processors, row, strict=True))
            for row in raw
        ]

    def many(self, connection: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        """Run it once per set of parameters, as one executemany (a batch of inserts)."""
        if not params:
            return
        dialect = connection.dialect
        if dialect.name != "sqlite":
            statement = self._by_dialect.get(dialect.name, self._statement)
            connection.execute(statement, [dict(each) for each in params])
            return
        compiled = self._compiled_for(dialect)
        batch = [_values(compiled, each) for each in params]
        try:
            connection.connection.driver_connection.executemany(compiled.sql, batch)  # type: ignore[union-attr]
        except dialect.loaded_dbapi.Error as error:
            raise driver_error(dialect, compiled.sql, batch, error) from error

    def _compiled_for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect)
        if compiled is None:
            compiled = self._compiled[dialect] = self._compile(dialect)
        return compiled

    def one_or_none(
        self, connection: Connection, params: Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        rows = self.rows(connection, params)
        if len(rows) > 1:
            raise exc.MultipleResultsFound("more than one row where at most one was expected")
        return rows[0] if rows else None

    def one(self, connection: Connection, params: Mapping[str, Any]) -> tuple[Any, ...]:
        row = self.one_or_none(connection, params)
        if row is None:
            raise exc.NoResultFound("no row where exactly one was expected")
        return row

    def _compile(self, dialect: Dialect) -> _Compiled:
        assert isinstance(self._statement, ClauseElement)
        compiled = self._statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if not compiled.positional or compiled.positiontup is None:
            raise TypeError(f"{dialect.name} is expected to use positional parameters")
        defaults = _column_defaults(compiled)
        binds: list[tuple[str, Any]] = []
        processed: list[tuple[int, Callable[[Any], Any]]] = []
        for position, name in enumerate(compiled.positiontup):
            bind = compiled.binds[name]
            if name in defaults:
                fixed = defaults[name]
            else:
                fixed = _REQUIRED if bind.required else bind.effective_value
            binds.append((name, fixed))
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processed.append((position, process))
        columns: Sequence[Any] = getattr(self._statement, "exported_columns", ())
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )
        return _Compiled(compiled.string, tuple(binds), tuple(processed), results)


def driver_error(dialect: Dialect, sql: str, params: Any, error: Exception) -> exc.StatementError:
    """A driver's error as SQLAlchemy wraps it (``IntegrityError``, ``OperationalError``,
    ...), for statements run on the driver's own connection."""
    return exc.DBAPIError.instance(sql, params, error, dialect.loaded_dbapi.Error, dialect=dialect)


def _values(compiled: _Compiled, params: Mapping[str, Any]) -> list[Any]:
    """The statement's positional parameters, through SQLAlchemy's bind processors.
    (Most binds have no processor on SQLite: only those that do are visited twice.)"""
    values = [params.get(name, fixed) for name, fixed in compiled.binds]
    if _REQUIRED in values:
        missing = next(
            name
            for (name, _), value in zip(compiled.binds, values, strict=True)
            if value is _REQUIRED
        )
        raise KeyError(f"{missing!r} is a parameter of {compiled.sql!r}")
    for position, process in compiled.processed:
        values[position] = process(values[position])
    return values


def _column_defaults(compiled: SQLCompiler) -> dict[str, Any]:
    """The Python-side defaults of the columns the statement leaves out.

    SQLAlchemy computes these per execution; a scalar one (``default=0``) is the same
    every time, so it is taken once here. A callable or SQL default cannot be applied
    outside SQLAlchemy's execution context: the statement must give that column a
    value, and this says so when it is first compiled rather than storing NULL.
    """
    defaults: dict[str, Any] = {}
    for columns, attribute in (
        (compiled.insert_prefetch, "default"),
        (compiled.update_prefetch, "onupdate"),
    ):
        for column in columns:
            default = getattr(column, attribute)
            if default is None or not default.is_scalar:
                raise TypeError(
                    f"{column} has a {attribute} that only SQLAlchemy can compute: "
                    "give the statement a value for it"
                )
            defaults[column.key] = default.arg
    return defaults
