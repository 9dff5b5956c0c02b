"""A SELECT compiled once and run with the least work per call: the guard's one query.

Profiling the protected-request path showed SQLAlchemy's per-execution machinery
(connection object, statement-cache lookup, parameter and result set-up, transaction
bookkeeping) costing several times the query itself on SQLite. :class:`PreparedSelect`
keeps what matters and drops the rest:

- kept: the engine's pool (checkout, pre-ping, reset on return), the column types'
  bind and result processors, :class:`~sqlalchemy.exc.DBAPIError` wrapping of driver
  errors, and invalidation of a connection that was lost;
- dropped: re-compiling or looking the statement up on every call, the ``Connection``
  and ``Result`` objects, and — on PostgreSQL — the BEGIN/ROLLBACK round trips: the
  read runs in autocommit (one statement, one snapshot) and the connection goes back
  to the pool in its normal mode.

When the engine has listeners on execution events or echoes SQL, every call goes
through an ordinary ``Connection`` instead, so tracing, logging and statement counters
still see the query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

Row = tuple[Any, ...]
Processor = Callable[[Any], Any]

#: dialects whose drivers switch autocommit on and off without a round trip
AUTOCOMMIT_DIALECTS = frozenset({"postgresql"})
_ENGINE_EVENTS = (
    "before_execute",
    "after_execute",
    "before_cursor_execute",
    "after_cursor_execute",
)
_DIALECT_EVENTS = ("do_execute", "handle_error")


class PreparedSelect:
    """``query`` compiled for ``engine``; :meth:`first` returns its first row as a tuple."""

    def __init__(self, engine: Engine, query: sa.Select[Any]):
        dialect = engine.dialect
        compiled = query.compile(dialect=dialect)
        self.engine = engine
        self.query = query
        self.sql = str(compiled)
        self._positional: tuple[str, ...] | None = (
            tuple(compiled.positiontup or ()) if compiled.positional else None
        )
        # bind_names: each BindParameter -> the name it has in the SQL; a named bind
        # keeps its name (callers pass those), a literal gets one like ``origin_1``
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        self._fixed = {
            name: bind.effective_value for name, bind in binds.items() if not bind.required
        }
        self._bind_processors: dict[str, Processor] = {
            name: processor
            for name, bind in binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        self._result_processors: list[tuple[int, Processor]] = [
            (position, processor)
            for position, column in enumerate(query.selected_columns)
            if (processor := column.type.dialect_impl(dialect).result_processor(dialect, None))
            is not None
        ]
        self._autocommit = dialect.name in AUTOCOMMIT_DIALECTS
        self._sqlalchemy_engine = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if self._autocommit else engine
        )

    def first(self, params: Mapping[str, Any]) -> Row | None:
        """The first row for ``params`` (the named binds of the query), or None."""
        if self._instrumented():
            with self._sqlalchemy_engine.connect() as connection:
                row = connection.execute(self.query, params).first()
            return None if row is None else tuple(row)
        return self._direct(params)

    def _instrumented(self) -> bool:
        """True when SQL logging or an execution-event listener must see the query."""
        engine = self.engine
        # SQLAlchemy's own quick flags, set once any listener is added; if a version
        # lacks them, fall back to asking each event collection
        if not getattr(engine, "_has_events", True) and not getattr(
            engine.dialect, "_has_events", True
        ):
            return bool(engine.echo)
        try:
            return (
                bool(engine.echo)
                or any(getattr(engine.dispatch, name) for name in _ENGINE_EVENTS)
                or any(getattr(engine.dialect.dispatch, name) for name in _DIALECT_EVENTS)
            )
        except AttributeError:  # a SQLAlchemy without one of these events: take the safe path
            return True

    def _arguments(self, params: Mapping[str, Any]) -> Any:
        values = {**self._fixed, **params}
        for name, processor in self._bind_processors.items():
            values[name] = processor(values[name])
        if self._positional is None:
            return values
        return tuple(values[name] for name in self._positional)

    def _direct(self, params: Mapping[str, Any]) -> Row | None:
        engine = self.engine
        dialect = engine.dialect
        arguments = self._arguments(params)
        try:
            connection = engine.raw_connection()
        except dialect.loaded_dbapi.Error as error:  # no connection (server down): a 503
            raise sa.exc.DBAPIError.instance(
                None,
                None,
                error,
                dialect.loaded_dbapi.Error,
                hide_parameters=engine.hide_parameters,
                connection_invalidated=dialect.is_disconnect(error, None, None),
                dialect=dialect,
            ) from error
        dbapi_connection = connection.dbapi_connection
        assert dbapi_connection is not None
        cursor = None
        try:
            if self._autocommit:
                dialect.set_isolation_level(dbapi_connection, "AUTOCOMMIT")
            try:
                cursor = connection.cursor()
                cursor.execute(self.sql, arguments)
                row = cursor.fetchone()
                cursor.close()
            finally:
                if self._autocommit and connection.is_valid:
                    dialect.reset_isolation_level(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            lost = dialect.is_disconnect(error, dbapi_connection, cursor)
            if lost or self._autocommit:  # never hand back a connection in an unknown mode
                connection.invalidate(error)
            raise sa.exc.DBAPIError.instance(
                self.sql,
                arguments,
                error,
                dialect.loaded_dbapi.Error,
                hide_parameters=engine.hide_parameters,
                connection_invalidated=lost,
                dialect=dialect,
            ) from error
        except BaseException:
            if self._autocommit:
                connection.invalidate()
            raise
        finally:
            connection.close()
        if row is None:
            return None
        if not self._result_processors:
            return tuple(row)
        values = list(row)
        for position, processor in self._result_processors:
            values[position] = processor(values[position])
        return tuple(values)


class SessionSelect:
    """The same interface through the app's ORM session (and its connection)."""

    def __init__(self, db: Session, query: sa.Select[Any]):
        self.db = db
        self.query = query

    def first(self, params: Mapping[str, Any]) -> Row | None:
        row = self.db.execute(self.query, params).first()
        return None if row is None else tuple(row)
