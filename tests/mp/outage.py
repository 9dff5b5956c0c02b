"""Database outages a test can switch on and off, without touching the real servers.

- PostgreSQL and MariaDB: the app talks to the server through a :class:`~tests.mp.proxy.Proxy`.
  ``cut()`` resets every connection and refuses new ones (the server is gone),
  ``hang()`` makes new connections wait for their connect timeout (the server does not
  answer), ``restore()`` brings it back.
- SQLite has no server: its outage is the file being locked by another process. The
  app's database is a file in SQLite's default rollback-journal mode with a short busy
  timeout; ``cut()`` / ``hang()`` take an exclusive lock (inside one of the app's write
  transactions, a shared lock, which keeps its commit from completing), and the app's
  statements fail after the busy timeout, just as they would behind a stuck backup or a
  crashed writer that holds the lock.

Writes refused (:class:`ReadOnly`): PostgreSQL makes the per-run database read-only
(``default_transaction_read_only``) and ends the app's connections so new ones pick it up,
MariaDB revokes the app user's write grants on the tables, SQLite holds the write lock.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.mp.proxy import Proxy
from tests.support import TestDatabase

#: what we recommend: check pooled connections before use, and fail fast when the server
#: does not answer (see the README's deployment notes)
SERVER_ENGINE_OPTIONS: dict[str, dict[str, Any]] = {
    "postgresql": {"pool_pre_ping": True, "connect_args": {"connect_timeout": 2}},
    "mariadb": {
        "pool_pre_ping": True,
        "connect_args": {"connect_timeout": 2, "read_timeout": 5, "write_timeout": 5},
    },
}
SQLITE_BUSY_TIMEOUT = 0.2
TABLES = ("strapi_sessions", "up_users", "admin_users")


class Outage:
    """Switch the app's database off and on: ``cut``, ``hang``, ``restore``.

    ``cut(during_write=True)`` is for a cut made while the app is inside a write
    transaction of its own (just before its commit).
    """

    url: str
    engine_options: dict[str, Any]

    def cut(self, *, during_write: bool = False) -> None:
        raise NotImplementedError

    def hang(self) -> None:
        raise NotImplementedError

    def restore(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class ProxiedServer(Outage):
    """PostgreSQL or MariaDB behind a proxy the test controls."""

    def __init__(self, database: TestDatabase):
        real = sa.engine.make_url(database.url)
        self.proxy = Proxy(real.host or "127.0.0.1", real.port or _default_port(database.kind))
        self.url = real.set(host="127.0.0.1", port=self.proxy.port).render_as_string(False)
        self.engine_options = SERVER_ENGINE_OPTIONS[database.kind]

    def cut(self, *, during_write: bool = False) -> None:
        self.proxy.cut()

    def hang(self) -> None:
        self.proxy.blackhole()

    def restore(self) -> None:
        self.proxy.restore()

    def close(self) -> None:
        self.proxy.close()


class LockedSqlite(Outage):
    """A SQLite file another connection can lock the app out of."""

    def __init__(self, path: Path):
        self.path = path
        self.url = f"sqlite:///{path}"
        self.engine_options = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT}}
        self._locker: sqlite3.Connection | None = None

    def cut(self, *, during_write: bool = False) -> None:
        assert self._locker is None, "already cut"
        if during_write:
            # the app holds the write lock: a shared lock is enough to stop its commit
            locker = sqlite3.connect(self.path, timeout=0, isolation_level=None)
            locker.execute("BEGIN")
            locker.execute("SELECT count(*) FROM strapi_sessions").fetchone()
        else:
            # waits for requests still finishing, then locks everyone out
            locker = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            locker.execute("BEGIN EXCLUSIVE")
        self._locker = locker

    def hang(self) -> None:
        self.cut()

    def restore(self) -> None:
        locker, self._locker = self._locker, None
        if locker is not None:
            locker.rollback()
            locker.close()

    def close(self) -> None:
        self.restore()


def outage_for(database: TestDatabase, tmp: Path) -> Outage:
    if database.kind == "sqlite":
        return LockedSqlite(tmp / "outage.sqlite")
    return ProxiedServer(database)


def _default_port(kind: str) -> int:
    return 5432 if kind == "postgresql" else 3306


# -- writes refused -------------------------------------------------------------------


class ReadOnly:
    """The database stays up for reads but refuses writes: ``refuse()`` / ``allow()``.

    The tables must exist before ``url`` is used (the app's user may not create them).
    """

    url: str
    engine_options: dict[str, Any]

    def refuse(self) -> None:
        raise NotImplementedError

    def allow(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class ReadOnlyPostgres(ReadOnly):
    def __init__(self, database: TestDatabase):
        self.url = database.url
        self.engine_options = SERVER_ENGINE_OPTIONS["postgresql"]
        self._admin = sa.create_engine(database.url, isolation_level="AUTOCOMMIT")
        self._name = sa.engine.make_url(database.url).database

    def _set(self, clause: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(sa.text(f"ALTER DATABASE {self._name} {clause}"))
            # sessions keep the setting they started with: end them, the pool reconnects
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )

    def refuse(self) -> None:
        self._set("SET default_transaction_read_only = on")

    def allow(self) -> None:
        self._set("RESET default_transaction_read_only")

    def close(self) -> None:
        self.allow()
        self._admin.dispose()


class ReadOnlyMariadb(ReadOnly):
    """The app connects as a user of its own whose table grants the test revokes."""

    def __init__(self, database: TestDatabase):
        real = sa.engine.make_url(database.url)
        self._db = real.database
        self._user = f"fss_{uuid.uuid4().hex[:10]}"
        password = uuid.uuid4().hex
        self._admin = sa.create_engine(database.url, isolation_level="AUTOCOMMIT")
        self._run(f"CREATE USER '{self._user}'@'127.0.0.1' IDENTIFIED BY '{password}'")
        self._grant()
        self.url = real.set(username=self._user, password=password).render_as_string(False)
        self.engine_options = SERVER_ENGINE_OPTIONS["mariadb"]

    def _run(self, *statements: str) -> None:
        with self._admin.connect() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))

    def _grant(self) -> None:
        # table privileges apply to open connections at their next statement
        self._run(
            *(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON {self._db}.{table} "
                f"TO '{self._user}'@'127.0.0.1'"
                for table in TABLES
            )
        )

    def refuse(self) -> None:
        self._run(
            *(
                f"REVOKE INSERT, UPDATE, DELETE ON {self._db}.{table} "
                f"FROM '{self._user}'@'127.0.0.1'"
                for table in TABLES
            )
        )

    def allow(self) -> None:
        self._grant()

    def close(self) -> None:
        self._run(f"DROP USER IF EXISTS '{self._user}'@'127.0.0.1'")
        self._admin.dispose()


class ReadOnlySqlite(ReadOnly):
    """Another connection holds SQLite's write lock: readers go on, writers time out."""

    def __init__(self, path: Path):
        self.path = path
        self.url = f"sqlite:///{path}"
        self.engine_options = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT}}
        self._locker: sqlite3.Connection | None = None

    def refuse(self) -> None:
        self._locker = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        self._locker.execute("BEGIN IMMEDIATE")

    def allow(self) -> None:
        locker, self._locker = self._locker, None
        if locker is not None:
            locker.rollback()
            locker.close()

    def close(self) -> None:
        self.allow()


def read_only_for(database: TestDatabase, tmp: Path) -> ReadOnly:
    if database.kind == "postgresql":
        return ReadOnlyPostgres(database)
    if database.kind == "mariadb":
        return ReadOnlyMariadb(database)
    return ReadOnlySqlite(tmp / "read-only.sqlite")
