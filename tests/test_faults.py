"""The database going away, hanging or refusing writes (SPEC §5: a database outage → 503).

PostgreSQL and MariaDB sit behind a TCP proxy the test cuts; SQLite is locked by another
connection (see ``tests/mp/outage.py``). Cuts happen before a request or at an exact
point inside one (just before a statement, or just before a commit), and afterwards:

- the client got 503 with Strapi's ``ServiceUnavailableError`` body; a protected route
  never answered 200;
- nothing half-done survived: a rotation cut before its commit left the old token
  working, one cut after its commit left exactly the rotated row, whose successor a retry
  of the old token gets inside the grace window;
- the app recovered by itself once the database was back (``pool_pre_ping``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, Response, jsonify
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event

from flask_strapi_sessions import StrapiSessions, login_required
from flask_strapi_sessions.tokens import hash_refresh_token
from tests.mp.outage import Outage, ReadOnly, outage_for, read_only_for
from tests.mp.server import app_environment, concurrently, running
from tests.support import (
    FAST_HASHER,
    FakeClock,
    TestDatabase,
    base_config,
    bearer,
    build_app,
    login,
    register,
)

UNAVAILABLE = {
    "data": None,
    "error": {
        "status": 503,
        "name": "ServiceUnavailableError",
        "message": "Service temporarily unavailable, please try again later.",
        "details": {},
    },
}


# -- the app and its database -----------------------------------------------------------


def fault_app(database: TestDatabase, clock: FakeClock, url: str, options: dict[str, Any]) -> Flask:
    """The extension on ``url`` (through the proxy, or the lockable SQLite file)."""
    app = Flask("fss_faults")
    app.config.update(base_config(database))
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db = SQLAlchemy(app)
    StrapiSessions(app, db, clock=clock, password_hasher=FAST_HASHER)

    @app.get("/private")
    @login_required
    def private() -> Response:
        return jsonify({"secret": "only for logged-in users"})

    with app.app_context():
        db.create_all()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    return app


def dispose(app: Flask) -> None:
    with app.app_context():
        app.extensions["sqlalchemy"].session.remove()
        app.extensions["sqlalchemy"].engine.dispose()


@pytest.fixture
def outage(database: TestDatabase, tmp_path: Path) -> Iterator[Outage]:
    outage = outage_for(database, tmp_path)
    yield outage
    outage.close()


@pytest.fixture
def app(database: TestDatabase, clock: FakeClock, outage: Outage) -> Iterator[Flask]:
    app = fault_app(database, clock, outage.url, outage.engine_options)
    yield app
    outage.restore()
    dispose(app)


@pytest.fixture
def engine(outage: Outage) -> Iterator[sa.Engine]:
    """Our own look at the rows (through the proxy, so only while it forwards)."""
    engine = sa.create_engine(outage.url, pool_pre_ping=True)
    yield engine
    engine.dispose()


def row_of(engine: sa.Engine, refresh_token: str) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT * FROM strapi_sessions WHERE session_id = :sid"),
            {"sid": refresh_token.split(".", 1)[0]},
        ).all()
    assert len(rows) == 1
    return dict(rows[0]._mapping)


def session_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM strapi_sessions")).scalar_one())


# -- cutting at an exact point ------------------------------------------------------------


Statement = Callable[[str], bool]  # judges a statement's SQL, whitespace collapsed


def updates(column: str) -> Statement:
    """An UPDATE of the session table that sets ``column``."""
    return lambda sql: (
        sql.startswith("UPDATE strapi_sessions SET ")
        and bool(re.search(rf"\b{column}=", sql.split(" WHERE ")[0]))
    )


def reads(table: str) -> Statement:
    return lambda sql: sql.startswith("SELECT ") and f" FROM {table}" in sql


def inserts(table: str) -> Statement:
    return lambda sql: sql.startswith(f"INSERT INTO {table} ")


ROTATION = updates("token_hash")
REVOCATION = updates("status")
SESSION_INSERT = inserts("strapi_sessions")
SESSION_CHECK = reads("strapi_sessions")
USER_LOOKUP = reads("up_users")


def cut_before(app: Flask, outage: Outage, statement: Statement) -> None:
    """Cut the database just before the first statement matching ``statement`` is sent."""
    fired = False

    def before(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        nonlocal fired
        if not fired and statement(" ".join(sql.split())):
            fired = True
            outage.cut()

    with app.app_context():
        event.listen(app.extensions["sqlalchemy"].engine, "before_cursor_execute", before)


def cut_at_commit_after(app: Flask, outage: Outage, statement: Statement) -> None:
    """Cut the database just before the commit of the transaction that ran ``statement``."""
    armed = fired = False

    def before(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        nonlocal armed
        armed = armed or statement(" ".join(sql.split()))

    def commit(_conn: Any) -> None:
        nonlocal fired
        if armed and not fired:
            fired = True
            outage.cut(during_write=True)

    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "commit", commit)


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json() == UNAVAILABLE


def signed_in(client: FlaskClient) -> dict[str, str]:
    body = register(client).get_json()
    return {"jwt": body["jwt"], "refresh": body["refreshToken"]}


def refresh(client: FlaskClient, token: str) -> Any:
    return client.post("/api/auth/refresh", json={"refreshToken": token})


# -- the database goes away, or hangs -----------------------------------------------------


def test_outage_answers_503_everywhere_then_recovers_by_itself(
    app: Flask, outage: Outage, engine: sa.Engine
) -> None:
    client = app.test_client()
    before = signed_in(client)
    outage.cut()

    assert_unavailable(login(client))
    assert_unavailable(refresh(client, before["refresh"]))
    assert_unavailable(client.post("/api/auth/logout", json={}, headers=bearer(before["jwt"])))
    assert_unavailable(client.get("/private", headers=bearer(before["jwt"])))
    assert_unavailable(client.get("/api/users/me", headers=bearer(before["jwt"])))

    outage.restore()
    assert client.get("/private", headers=bearer(before["jwt"])).status_code == 200
    row = row_of(engine, before["refresh"])
    assert (row["generation"], row["token_hash"]) == (0, hash_refresh_token(before["refresh"]))
    assert session_count(engine) == 1  # the refused login left nothing behind
    assert refresh(client, before["refresh"]).status_code == 200
    assert login(client).status_code == 200
    out = client.post("/api/auth/logout", json={}, headers=bearer(before["jwt"]))
    assert out.get_json() == {"ok": True}


def test_database_not_answering_times_out_to_503_then_recovers(
    app: Flask, outage: Outage, engine: sa.Engine
) -> None:
    client = app.test_client()
    before = signed_in(client)
    outage.hang()  # new connections wait for the connect timeout (2 s here)

    assert_unavailable(client.get("/private", headers=bearer(before["jwt"])))
    assert_unavailable(refresh(client, before["refresh"]))

    outage.restore()
    assert client.get("/private", headers=bearer(before["jwt"])).status_code == 200
    assert row_of(engine, before["refresh"])["generation"] == 0
    assert refresh(client, before["refresh"]).status_code == 200


# -- cut inside a refresh -------------------------------------------------------------------


@pytest.mark.parametrize(
    "cut", [cut_before, cut_at_commit_after], ids=["before-update", "before-commit"]
)
def test_refresh_cut_before_its_commit_leaves_the_old_token_working(
    app: Flask, outage: Outage, engine: sa.Engine, cut: Callable[..., None]
) -> None:
    client = app.test_client()
    before = signed_in(client)
    cut(app, outage, ROTATION)

    assert_unavailable(refresh(client, before["refresh"]))

    outage.restore()
    row = row_of(engine, before["refresh"])  # rolled back: not a trace of the rotation
    assert row["generation"] == 0 and row["token_hash"] == hash_refresh_token(before["refresh"])
    assert row["previous_token_hash"] is None and row["successor_sealed"] is None
    retried = refresh(client, before["refresh"])
    assert retried.status_code == 200
    assert row_of(engine, before["refresh"])["generation"] == 1


def test_refresh_cut_after_its_commit_hands_the_successor_to_the_retry(
    app: Flask, outage: Outage, engine: sa.Engine
) -> None:
    client = app.test_client()
    before = signed_in(client)
    cut_before(app, outage, USER_LOOKUP)  # the rotation is committed, the answer not sent

    assert_unavailable(refresh(client, before["refresh"]))

    outage.restore()
    rotated = row_of(engine, before["refresh"])
    assert rotated["generation"] == 1 and rotated["status"] == "active"
    assert rotated["previous_token_hash"] == hash_refresh_token(before["refresh"])
    retried = refresh(client, before["refresh"])  # inside the grace window
    assert retried.status_code == 200
    successor = retried.get_json()["refreshToken"]
    after = row_of(engine, before["refresh"])
    assert after["generation"] == 1 and after["token_hash"] == hash_refresh_token(successor)
    assert refresh(client, successor).status_code == 200


# -- cut inside a login, a logout, a protected request ---------------------------------------


@pytest.mark.parametrize(
    "cut", [cut_before, cut_at_commit_after], ids=["before-insert", "before-commit"]
)
def test_login_cut_leaves_no_session(
    app: Flask, outage: Outage, engine: sa.Engine, cut: Callable[..., None]
) -> None:
    client = app.test_client()
    assert register(client).status_code == 200
    cut(app, outage, SESSION_INSERT)

    assert_unavailable(login(client))

    outage.restore()
    assert session_count(engine) == 1  # the one from registering
    assert login(client).status_code == 200
    assert session_count(engine) == 2


@pytest.mark.parametrize(
    "cut", [cut_before, cut_at_commit_after], ids=["before-update", "before-commit"]
)
def test_logout_cut_leaves_the_session_live_until_retried(
    app: Flask, outage: Outage, engine: sa.Engine, cut: Callable[..., None]
) -> None:
    client = app.test_client()
    before = signed_in(client)
    cut(app, outage, REVOCATION)

    assert_unavailable(client.post("/api/auth/logout", json={}, headers=bearer(before["jwt"])))

    outage.restore()
    assert row_of(engine, before["refresh"])["status"] == "active"
    assert client.get("/private", headers=bearer(before["jwt"])).status_code == 200
    out = client.post("/api/auth/logout", json={}, headers=bearer(before["jwt"]))
    assert out.get_json() == {"ok": True}
    assert row_of(engine, before["refresh"])["status"] == "revoked"
    assert client.get("/private", headers=bearer(before["jwt"])).status_code == 401


@pytest.mark.parametrize(
    ("path", "statement"),
    [
        ("/private", SESSION_CHECK),
        ("/api/users/me", SESSION_CHECK),
        ("/api/users/me", USER_LOOKUP),
    ],
    ids=["app-view", "me-session-check", "me-user-lookup"],
)
def test_protected_request_cut_fails_closed(
    app: Flask, outage: Outage, path: str, statement: Statement
) -> None:
    client = app.test_client()
    before = signed_in(client)
    cut_before(app, outage, statement)

    assert_unavailable(client.get(path, headers=bearer(before["jwt"])))

    outage.restore()
    assert client.get(path, headers=bearer(before["jwt"])).status_code == 200


# -- writes refused -------------------------------------------------------------------------


@pytest.fixture
def read_only(database: TestDatabase, clock: FakeClock, tmp_path: Path) -> Iterator[ReadOnly]:
    if database.kind != "sqlite":  # the tables exist before the app's own user connects
        dispose(build_app(database, clock, {}))
    read_only = read_only_for(database, tmp_path)
    yield read_only
    read_only.close()


def test_refused_writes_answer_503_and_write_nothing(
    database: TestDatabase, clock: FakeClock, read_only: ReadOnly
) -> None:
    app = fault_app(database, clock, read_only.url, read_only.engine_options)
    engine = sa.create_engine(read_only.url, pool_pre_ping=True)
    try:
        client = app.test_client()
        before = signed_in(client)
        read_only.refuse()

        assert_unavailable(login(client))
        assert_unavailable(refresh(client, before["refresh"]))
        assert_unavailable(client.post("/api/auth/logout", json={}, headers=bearer(before["jwt"])))
        # reading still works, and the session is live: the protected route answers
        assert client.get("/private", headers=bearer(before["jwt"])).status_code == 200

        read_only.allow()
        row = row_of(engine, before["refresh"])
        assert (row["status"], row["generation"]) == ("active", 0)
        assert session_count(engine) == 1
        assert refresh(client, before["refresh"]).status_code == 200
        assert login(client).status_code == 200
    finally:
        engine.dispose()
        dispose(app)


# -- several worker processes ---------------------------------------------------------------


@pytest.mark.slow
def test_workers_answer_503_during_an_outage_and_recover_by_themselves(
    database: TestDatabase, clock: FakeClock, outage: Outage, tmp_path: Path
) -> None:
    dispose(fault_app(database, clock, outage.url, outage.engine_options))
    env = app_environment(
        outage.url, FSS_MP_ENGINE_OPTIONS=outage.engine_options, FSS_MP_SQLITE_PRAGMAS="off"
    )
    with running(tmp_path, env, workers=2, worker_class="sync") as server:
        signup = {"username": "dave", "email": "dave@example.com", "password": "secret123"}
        first = server.post("/api/auth/local/register", signup).body
        protected = partial(server.get, "/private", bearer(first["jwt"]))
        warm = concurrently([protected] * 6)  # both workers now hold pooled connections
        assert {a.status for a in warm} == {200}

        outage.cut()
        down = concurrently([protected] * 4)
        down.append(server.post("/api/auth/refresh", {"refreshToken": first["refreshToken"]}))
        outage.restore()
        back = concurrently([protected] * 6)
        again = server.post("/api/auth/refresh", {"refreshToken": first["refreshToken"]})

    assert [a.body for a in down] == [UNAVAILABLE] * 5
    assert {a.status for a in back} == {200}
    assert len({a.worker for a in warm + back}) == 2
    assert again.status == 200
