"""Test helpers that are not fixtures: the clock, database set-up, app building, clients."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from werkzeug.test import TestResponse

from flask_strapi_sessions import PasswordHasher, StrapiSessions

ADMIN_SECRET = "admin-test-secret-0123456789abcdefghijklmnop"
UP_SECRET = "content-test-secret-0123456789abcdefghijklmn"
START = 1_800_000_000.0  # 2027-01-15, a fixed "now" for the fake clock

# Cheap Argon2 for tests; the OWASP defaults have their own test.
FAST_HASHER = PasswordHasher(memory_cost=64, time_cost=1, parallelism=1)

SERVER_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/test",
}


# the (status, error.name, error.message) triples that error() returns, for comparison
INVALID_REFRESH = (401, "UnauthorizedError", "Invalid refresh token")
UNAUTHORIZED = (401, "UnauthorizedError", "Missing or invalid credentials")
MISSING_REFRESH = (400, "BadRequestError", "Missing refresh token")
INVALID_LOGIN = (400, "ValidationError", "Invalid identifier or password")


class FakeClock:
    """A clock the test moves by hand: ``clock.advance(seconds)``."""

    def __init__(self, now: float = START):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class TestDatabase:
    """One fresh database (SQLite file, PostgreSQL database, MariaDB database) per run."""

    __test__ = False

    def __init__(self, kind: str, url: str, admin_url: str | None, name: str | None):
        self.kind = kind
        self.url = url
        self._admin_url = admin_url
        self._name = name

    @classmethod
    def from_environment(cls, tmp: Path) -> TestDatabase:
        kind = os.environ.get("FSS_TEST_DATABASE", "sqlite").lower()
        if kind == "sqlite":
            return cls(kind, f"sqlite:///{tmp / 'test.sqlite'}", None, None)
        if kind not in SERVER_URLS:
            raise RuntimeError(f"FSS_TEST_DATABASE={kind!r}: use sqlite, postgresql or mariadb")
        admin_url = os.environ.get(f"FSS_{kind.upper()}_URL", SERVER_URLS[kind])
        name = f"fss_test_{uuid.uuid4().hex[:12]}"
        engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f"CREATE DATABASE {name}"))
        except sa.exc.OperationalError as exc:
            raise RuntimeError(
                f"FSS_TEST_DATABASE={kind}: cannot reach the server at {admin_url} "
                f"({exc.orig}). Start it (see README, 'Running the tests') or run with "
                "FSS_TEST_DATABASE=sqlite."
            ) from None
        finally:
            engine.dispose()
        url = sa.engine.make_url(admin_url).set(database=name).render_as_string(False)
        return cls(kind, url, admin_url, name)

    def drop(self) -> None:
        if self._admin_url is None:
            return
        engine = sa.create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            if self.kind == "postgresql":
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {self._name} WITH (FORCE)"))
            else:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {self._name}"))
        engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def base_config(database: TestDatabase) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database.url,
        "ADMIN_JWT_SECRET": ADMIN_SECRET,
        "JWT_SECRET": UP_SECRET,
        "UP_JWT_MANAGEMENT": "refresh",
        "ADMIN_RATELIMIT_ENABLED": False,
        "UP_RATELIMIT_ENABLED": False,
    }


def build_app(
    database: TestDatabase,
    clock: FakeClock,
    overrides: dict[str, Any],
    *,
    ext_options: dict[str, Any] | None = None,
) -> Flask:
    """A Flask app with a fresh ``SQLAlchemy`` and ``StrapiSessions``, tables emptied."""
    app = Flask("fss_test")
    app.config.update(base_config(database))
    app.config.update(overrides)
    db = SQLAlchemy()
    db.init_app(app)
    options = {"clock": clock, "password_hasher": FAST_HASHER, **(ext_options or {})}
    StrapiSessions(app, db, **options)
    with app.app_context():
        if database.kind == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
        db.create_all()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    return app


def dispose_app(app: Flask) -> None:
    """Close the app's database connections (a test's app goes away with the test)."""
    with app.app_context():
        app.extensions["sqlalchemy"].session.remove()
        app.extensions["sqlalchemy"].engine.dispose()


def prepare_tables(database: TestDatabase) -> None:
    """Create and empty the tables, for servers started in other processes."""
    dispose_app(build_app(database, FakeClock(), {}))


# -- client helpers -------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(
    client: FlaskClient, username: str = "alice", password: str = "secret123", **extra: Any
) -> TestResponse:
    body = {"username": username, "email": f"{username}@example.com", "password": password}
    return client.post("/api/auth/local/register", json=body, **extra)


def login(
    client: FlaskClient, identifier: str = "alice", password: str = "secret123", **extra: Any
) -> TestResponse:
    body: dict[str, Any] = {"identifier": identifier, "password": password}
    body.update(extra.pop("body", {}))
    return client.post("/api/auth/local", json=body, **extra)


def register_admin(
    client: FlaskClient, email: str = "ada@example.com", password: str = "Secret123"
) -> TestResponse:
    body = {"email": email, "firstname": "Ada", "lastname": "Admin", "password": password}
    return client.post("/admin/register-admin", json=body)


def admin_login(
    client: FlaskClient,
    email: str = "ada@example.com",
    password: str = "Secret123",
    **body: Any,
) -> TestResponse:
    return client.post("/admin/login", json={"email": email, "password": password, **body})


def error(response: TestResponse) -> tuple[int, str, str]:
    """``(status, error.name, error.message)`` of a Strapi error body."""
    payload = response.get_json()
    assert payload["data"] is None, payload
    err = payload["error"]
    assert err["status"] == response.status_code
    return response.status_code, err["name"], err["message"]


def set_cookies(response: TestResponse) -> list[str]:
    return response.headers.getlist("Set-Cookie")
