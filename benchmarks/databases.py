"""A fresh, throwaway database per benchmark: an SQLite file, or a new PostgreSQL / MariaDB one.

Server URLs default to the local servers the test suite uses and can be overridden with
``FSS_POSTGRESQL_URL`` / ``FSS_MARIADB_URL`` (an URL whose database is used to create
and drop the benchmark's own database).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

KINDS = ("sqlite", "postgresql", "mariadb")
SERVER_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/mysql",
}


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL and a busy timeout, as a production SQLite deployment would use."""
    if type(dbapi_connection).__module__ == "sqlite3":
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


@contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    """Yield the URL of a new empty database of ``kind``; drop it afterwards."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="fss-bench-"))
        try:
            yield f"sqlite:///{folder / 'bench.sqlite'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if kind not in SERVER_URLS:
        raise SystemExit(f"unknown database {kind!r}: use one of {', '.join(KINDS)}")
    admin_url = os.environ.get(f"FSS_{kind.upper()}_URL", SERVER_URLS[kind])
    name = f"fss_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        raise SystemExit(f"cannot reach {kind} at {admin_url}: {exc.orig}") from None
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as conn:
            suffix = " WITH (FORCE)" if kind == "postgresql" else ""
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}{suffix}"))
        admin.dispose()
