"""Every lookup on the hot paths is served by an index, on every database.

The statements are the real ones: they are recorded while the app serves requests, then
given to the database's own ``EXPLAIN``. Each test names the lookups a path must make
through an index (``(table, leading column of the index)``), and no statement may read a
table, or a whole index, from end to end.
On PostgreSQL sequential scans are switched off for the ``EXPLAIN``, so a plan falls back
to one only when no index fits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from flask_strapi_sessions.models import ACTIVE, REVOKED, StrapiSession
from tests.support import FakeClock, bearer, register

FILLER_ROWS = 3000
ORIGINS = ("users-permissions", "admin")
TABLES = re.compile(r"\b(strapi_sessions|up_users|admin_users)\b")
SQLITE_SEARCH = re.compile(r"^SEARCH (\w+) USING .*?\((\w+)")
PG_INDEX = re.compile(r"(?:Index (?:Only )?Scan using|Bitmap Index Scan on) (\w+)")

Statement = tuple[str, Any]


@pytest.fixture
def filled_app(app: Flask, clock: FakeClock) -> Flask:
    """The default app with rows of many users, some expired or revoked, in both origins."""
    now = int(clock() * 1000)
    day = 86_400_000
    rows = [
        {
            "session_id": f"filler{i:026d}",
            "origin": ORIGINS[i % 2],
            "user_id": str(1000 + i % 700),
            "device_id": f"device-{i}",
            "type": "refresh",
            "status": REVOKED if i % 10 == 0 else ACTIVE,
            "generation": i % 5,
            "token_hash": f"{i:064x}",
            "created_at": now - 20 * day,
            "last_used_at": now - i % 9 * day,
            "idle_expires_at": now + (i % 9 - 3) * day,
            "absolute_expires_at": now + (i % 31 - 10) * day,
            "revoked_at": now - i % 15 * day if i % 10 == 0 else None,
        }
        for i in range(FILLER_ROWS)
    ]
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        db.session.execute(sa.insert(StrapiSession), rows)
        db.session.commit()
    analyze(app)
    return app


def analyze(app: Flask) -> None:
    """Refresh the planner's statistics, as autovacuum / InnoDB would after many changes."""
    with app.app_context():
        db = app.extensions["sqlalchemy"].session
        dialect = db.get_bind().dialect.name
        if dialect == "postgresql":
            db.execute(sa.text("ANALYZE strapi_sessions"))
        elif dialect == "mysql":
            db.execute(sa.text("ANALYZE TABLE strapi_sessions")).all()
        db.commit()


def engine_of(app: Flask) -> sa.Engine:
    with app.app_context():
        engine: sa.Engine = app.extensions["sqlalchemy"].engine
        return engine


@contextmanager
def recorded(app: Flask) -> Iterator[list[Statement]]:
    """Collect the single-row statements the app sends to the database."""
    statements: list[Statement] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        if not many and statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
            statements.append((statement, params))

    engine = engine_of(app)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def index_columns(app: Flask) -> dict[tuple[str, str], str]:
    """``(table, index name)`` → the index's first column, primary keys included."""
    inspector = sa.inspect(engine_of(app))
    names: dict[tuple[str, str], str] = {}
    for table in inspector.get_table_names():
        for index in inspector.get_indexes(table):
            names[table, str(index["name"])] = str(index["column_names"][0])
        for constraint in inspector.get_unique_constraints(table):
            names[table, str(constraint["name"])] = str(constraint["column_names"][0])
        primary = inspector.get_pk_constraint(table)
        for name in (primary["name"], "PRIMARY"):  # MariaDB calls every primary key PRIMARY
            names[table, str(name)] = str(primary["constrained_columns"][0])
    return names


def explain(app: Flask, statement: str, params: Any) -> list[tuple[Any, ...]]:
    """The database's plan for one recorded statement, as rows."""
    engine = engine_of(app)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
        else:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            rows = conn.exec_driver_sql("EXPLAIN " + statement, params).all()
        conn.rollback()
    return [tuple(row) for row in rows]


def searches(app: Flask, statement: str, params: Any) -> set[tuple[str, str]]:
    """``(table, leading column of the index used)`` for each table the plan reads.

    Fails the test when the plan reads a table, or a whole index, from end to end.
    """
    dialect = engine_of(app).dialect.name
    plan = explain(app, statement, params)
    shown = f"{statement}\n" + "\n".join(map(str, plan))
    found: set[tuple[str, str]] = set()
    if dialect == "sqlite":
        for row in plan:
            detail = str(row[-1])
            assert not detail.startswith("SCAN"), shown
            if match := SQLITE_SEARCH.match(detail):
                column = match.group(2)
                found.add((match.group(1), "id" if column == "rowid" else column))
        return found
    columns = index_columns(app)
    by_name = {name: (table, column) for (table, name), column in columns.items()}
    if dialect == "postgresql":
        for (line,) in plan:
            assert "Seq Scan" not in line, shown
            if match := PG_INDEX.search(line):
                found.add(by_name[match.group(1)])
        return found
    for row in plan:  # MariaDB: id, select_type, table, type, possible_keys, key, …
        table, access, key = row[2], row[3], row[5]
        if table is None:  # "Impossible WHERE noticed after reading const tables": no read
            continue
        assert access not in ("ALL", "index") and key is not None, shown
        found.add((table, columns[table, key]))
    return found


def lookups(app: Flask, statements: list[Statement]) -> set[tuple[str, str]]:
    """Every ``(table, indexed column)`` searched by the statements; none scans in full."""
    found: set[tuple[str, str]] = set()
    for statement, params in statements:
        if TABLES.search(statement):
            found |= searches(app, statement, params)
    return found


@pytest.fixture
def client(filled_app: Flask) -> FlaskClient:
    return filled_app.test_client()


def test_refresh_finds_the_session_by_id_and_rotates_it_by_primary_key(
    filled_app: Flask, client: FlaskClient
) -> None:
    tokens = register(client).get_json()
    with recorded(filled_app) as statements:
        response = client.post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert response.status_code == 200
    assert lookups(filled_app, statements) >= {
        ("strapi_sessions", "session_id"),
        ("strapi_sessions", "id"),
        ("up_users", "id"),
    }


def test_a_protected_request_checks_the_session_by_its_id(
    filled_app: Flask, client: FlaskClient
) -> None:
    tokens = register(client).get_json()
    with recorded(filled_app) as statements:
        response = client.get("/api/users/me", headers=bearer(tokens["jwt"]))
    assert response.status_code == 200
    assert lookups(filled_app, statements) >= {
        ("strapi_sessions", "session_id"),
        ("up_users", "id"),
    }


def test_listing_and_logging_out_everywhere_use_the_user_index(
    filled_app: Flask, client: FlaskClient
) -> None:
    tokens = register(client).get_json()
    with recorded(filled_app) as statements:
        listed = client.get("/api/auth/sessions", headers=bearer(tokens["jwt"]))
        out = client.post("/api/auth/logout", json={"scope": "all"}, headers=bearer(tokens["jwt"]))
    assert listed.status_code == 200 and out.status_code == 200
    assert ("strapi_sessions", "user_id") in lookups(filled_app, statements)


def test_purge_searches_each_expiry_column_and_deletes_by_primary_key(
    filled_app: Flask, clock: FakeClock
) -> None:
    with filled_app.app_context():
        state = filled_app.extensions["strapi_sessions"]
        db = filled_app.extensions["sqlalchemy"].session
        # Eleven days earlier no filler row was due yet: the usual case, in which every
        # condition's query runs and finds nothing. (Not right after a large purge: InnoDB
        # counts the rows it has yet to clean up, and may then prefer a scan for a while.)
        clock.advance(-11 * 86_400)
        with recorded(filled_app) as idle_statements:
            assert state.up.sessions.purge(db, batch_size=50) == 0
        clock.advance(11 * 86_400)
        with recorded(filled_app) as statements:
            assert state.up.sessions.purge(db, batch_size=50, max_batches=1) == 50
    assert lookups(filled_app, idle_statements) == {
        ("strapi_sessions", "idle_expires_at"),
        ("strapi_sessions", "absolute_expires_at"),
        ("strapi_sessions", "revoked_at"),
    }
    # With many rows due, a planner may rightly read the table in order and stop at the
    # batch size; the batch itself must be deleted by primary key.
    deletes = [s for s in statements if s[0].lstrip().upper().startswith("DELETE")]
    assert len(deletes) == 1
    assert lookups(filled_app, deletes) == {("strapi_sessions", "id")}
