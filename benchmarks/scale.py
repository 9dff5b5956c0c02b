"""Does a refresh or a protected request get slower as ``strapi_sessions`` grows?

    .venv/bin/python -m benchmarks.scale                       # SQLite and PostgreSQL
    .venv/bin/python -m benchmarks.scale --db mariadb --sizes 1000,100000

For each database, one fresh database per table size (default 1k, 10k, 100k and 1M rows)
is filled with realistic rows of many users — live, expired and revoked, both origins —
loaded in bulk (``COPY`` on PostgreSQL, batched ``executemany`` elsewhere). The app then
serves two kinds of request against every size, interleaved round by round so machine
noise hits all sizes alike (see ``benchmarks/harness.py``):

- ``refresh``: ``POST /api/auth/refresh`` rotating one of a few live sessions in turn;
- ``protected``: ``GET /api/protected``, a ``@login_required`` view (session and user
  checked in the database on every request).

Costs are medians over rounds, printed as ratios to the smallest size; the goal is flat
(within 1.2x). Commits do not wait for the disk flush (SQLite ``synchronous=NORMAL`` under
WAL, PostgreSQL ``synchronous_commit=off`` for the benchmark's own connections; MariaDB's
setting is server-wide and left alone): the flush costs the same at every size, and on a
shared disk its noise would drown the trend. ``--durable`` keeps the flush.

Last, it counts the rows of each measured session after all the refreshes (rotation
updates one row in place, so the answer must be 1) and checks the table did not grow.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask
from werkzeug.test import EnvironBuilder

from benchmarks.apps import PASSWORD, create_app, wsgi_caller
from benchmarks.databases import KINDS, fresh_database
from benchmarks.harness import interleave

DEFAULT_SIZES = (1_000, 10_000, 100_000, 1_000_000)
DAY_MS = 86_400_000
LOAD_CHUNK = 50_000
COLUMNS = (
    "session_id",
    "origin",
    "user_id",
    "device_id",
    "device_name",
    "type",
    "status",
    "generation",
    "token_hash",
    "previous_token_hash",
    "successor_sealed",
    "rotated_at",
    "created_at",
    "last_used_at",
    "idle_expires_at",
    "absolute_expires_at",
    "revoked_at",
    "revoked_reason",
    "user_agent",
    "ip",
)
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
)


def filler_rows(count: int, now_ms: int, seed: int) -> Iterator[tuple[Any, ...]]:
    """``count`` rows like a busy site's: 3 sessions per user, most live, some ended."""
    rng = random.Random(seed)
    for i in range(count):
        kind = rng.random()
        rotated = rng.random() < 0.6
        last_used = now_ms - rng.randrange(30 * DAY_MS)
        revoked = kind > 0.95
        idle_expired = 0.85 < kind <= 0.95
        yield (
            rng.randbytes(16).hex(),
            "admin" if i % 5 == 0 else "users-permissions",
            str(1_000_000 + seed * 1_000_000 + i // 3),
            rng.randbytes(16).hex(),
            "Chrome on Windows",
            "refresh",
            "revoked" if revoked else "active",
            rng.randrange(1, 400) if rotated else 0,
            rng.randbytes(32).hex(),
            rng.randbytes(32).hex() if rotated else None,
            rng.randbytes(90).hex() if rotated else None,
            last_used if rotated else None,
            last_used - rng.randrange(30 * DAY_MS),
            last_used,
            now_ms - DAY_MS if idle_expired else last_used + 7 * DAY_MS,
            last_used + 30 * DAY_MS,
            last_used if revoked else None,
            "logout" if revoked else None,
            USER_AGENTS[i % len(USER_AGENTS)],
            f"203.0.113.{i % 250}",
        )


def load(engine: sa.Engine, count: int, seed: int) -> None:
    """Bulk-insert ``count`` filler rows as fast as the database allows."""
    now_ms = round(time.time() * 1000)
    rows = filler_rows(count, now_ms, seed)
    names = ", ".join(COLUMNS)
    raw: Any = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY strapi_sessions ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            mark = "?" if engine.dialect.name == "sqlite" else "%s"
            insert = (
                f"INSERT INTO strapi_sessions ({names}) VALUES ({', '.join([mark] * len(COLUMNS))})"
            )
            if engine.dialect.name == "sqlite":
                cursor.execute("PRAGMA cache_size=-262144")  # 256 MB while loading
            while chunk := [row for _, row in zip(range(LOAD_CHUNK), rows, strict=False)]:
                cursor.executemany(insert, chunk)
                raw.commit()
        raw.commit()
        cursor.close()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        statement = {
            "postgresql": "VACUUM ANALYZE strapi_sessions",  # as autovacuum would have
            "mysql": "ANALYZE TABLE strapi_sessions",
        }.get(engine.dialect.name)
        if statement:
            conn.exec_driver_sql(statement).close()


def row_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT COUNT(*) FROM strapi_sessions").scalar_one())


@dataclass
class Rotator:
    """Refreshes a few live sessions in turn, keeping each one's current refresh token."""

    app: Flask
    tokens: list[str]
    turn: int = 0
    done: int = 0

    def __call__(self) -> object:
        index = self.turn % len(self.tokens)
        self.turn += 1
        body = json.dumps({"refreshToken": self.tokens[index]})
        environ = EnvironBuilder(
            path="/api/auth/refresh",
            method="POST",
            data=body,
            content_type="application/json",
        ).get_environ()
        status = [""]

        def start_response(value: str, _headers: Any, _exc_info: Any = None) -> None:
            status[0] = value

        response = self.app(environ, start_response)
        try:
            payload = b"".join(response)
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()
        if not status[0].startswith("200"):
            raise AssertionError(f"refresh answered {status[0]}: {payload[:200]!r}")
        self.tokens[index] = json.loads(payload)["refreshToken"]
        self.done += 1
        return payload


@dataclass
class Subject:
    """One database of one size, with its app and measured sessions."""

    size: int
    app: Flask
    engine: sa.Engine
    refresh: Rotator
    protected: Callable[[], object]
    session_ids: list[str]


def no_flush_wait(dbapi_connection: Any, _record: Any) -> None:
    """Commit without waiting for the disk (see the module docstring)."""
    module = type(dbapi_connection).__module__
    if module.startswith("sqlite3"):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    elif module.startswith("psycopg"):
        dbapi_connection.execute("SET synchronous_commit TO off")
        dbapi_connection.commit()


def prepare(url: str, size: int, sessions: int, seed: int, durable: bool) -> Subject:
    """Fill a fresh database to ``size`` rows, of which ``sessions`` are logged in here."""
    app = create_app(url)
    with app.app_context():
        engine: sa.Engine = app.extensions["sqlalchemy"].engine
    if not durable:
        sa.event.listen(engine, "connect", no_flush_wait)
        engine.dispose()  # connections opened so far do not have it
    client = app.test_client()
    tokens: list[str] = []
    access = ""
    for n in range(sessions):
        user = f"bench{n % 5}"
        email = f"{user}@example.com"
        body = {"username": user, "email": email, "password": PASSWORD}
        response = client.post("/api/auth/local/register", json=body)
        if response.status_code != 200:
            body = {"identifier": email, "password": PASSWORD}
            response = client.post("/api/auth/local", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)
        tokens.append(response.get_json()["refreshToken"])
        access = response.get_json()["jwt"]
    with engine.connect() as conn:
        session_ids = list(conn.exec_driver_sql("SELECT session_id FROM strapi_sessions").scalars())
    load(engine, size - row_count(engine), seed)
    return Subject(
        size=size,
        app=app,
        engine=engine,
        refresh=Rotator(app, tokens),
        protected=wsgi_caller(app, "/api/protected", access),
        session_ids=session_ids,
    )


def label(size: int) -> str:
    for factor, suffix in ((1_000_000, "M"), (1_000, "k")):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{suffix}"
    return str(size)


def run(kind: str, sizes: list[int], sessions: int, rounds: int, durable: bool) -> None:
    with ExitStack() as stack:
        subjects = []
        for seed, size in enumerate(sizes, start=1):
            started = time.perf_counter()
            url = stack.enter_context(fresh_database(kind))
            subject = prepare(url, size, sessions, seed, durable)
            stack.callback(subject.engine.dispose)
            subjects.append(subject)
            print(f"  {kind}: {label(size)} rows ready in {time.perf_counter() - started:.1f} s")
        before = {s.size: row_count(s.engine) for s in subjects}

        contenders: dict[str, Callable[[], object]] = {}
        for subject in subjects:
            contenders[f"refresh@{subject.size}"] = subject.refresh
            contenders[f"protected@{subject.size}"] = subject.protected
        result = interleave(contenders, rounds=rounds)

        base = sizes[0]
        print(
            f"\n{kind}: cost per request at {label(base)} rows, then the cost at each size "
            f"divided by it (medians of {rounds} interleaved rounds)"
        )
        print(f"  {'':<10}" + "".join(f"{label(size):>12}" for size in sizes))
        for operation in ("refresh", "protected"):
            baseline = f"{operation}@{base}"
            cells = [f"{1000 / result.rate(baseline):>9.3f} ms"] + [
                f"{result.ratio(baseline, f'{operation}@{size}'):>11.2f}x" for size in sizes[1:]
            ]
            noise = max(result.spread(f"{operation}@{size}") for size in sizes)
            spread = f"   (noise up to ±{noise:.0%})" if rounds >= 4 else ""  # needs quartiles
            print(f"  {operation:<10}" + "".join(cells) + spread)

        for subject in subjects:
            with subject.engine.connect() as conn:
                counts = conn.execute(
                    sa.text(
                        "SELECT session_id, COUNT(*) FROM strapi_sessions "
                        "WHERE session_id IN :ids GROUP BY session_id"
                    ).bindparams(sa.bindparam("ids", expanding=True)),
                    {"ids": subject.session_ids},
                ).all()
            per_session = {count for _sid, count in counts}
            refreshes = subject.refresh.done // len(subject.session_ids)
            grew = row_count(subject.engine) - before[subject.size]
            print(
                f"  {label(subject.size)}: rows per session after ~{refreshes} refreshes each: "
                f"{'/'.join(map(str, sorted(per_session)))} ({len(counts)} sessions); "
                f"table grew by {grew} rows"
            )
            if per_session != {1} or len(counts) != len(subject.session_ids) or grew:
                raise SystemExit("a session has more than one row, or the table grew")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db",
        default="sqlite,postgresql",
        help=f"comma-separated, from {', '.join(KINDS)} (default: sqlite,postgresql)",
    )
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, DEFAULT_SIZES)),
        help="comma-separated table sizes in rows; the first is the baseline",
    )
    parser.add_argument("--sessions", type=int, default=20, help="live sessions refreshed in turn")
    parser.add_argument("--rounds", type=int, default=11, help="interleaved timing rounds")
    parser.add_argument(
        "--durable", action="store_true", help="let every commit wait for the disk flush"
    )
    args = parser.parse_args()
    logging.getLogger("flask_strapi_sessions").setLevel(logging.ERROR)  # demo-config warnings
    kinds = [kind.strip() for kind in args.db.split(",") if kind.strip()]
    sizes = sorted({int(size.replace("_", "")) for size in args.sizes.split(",")})
    if any(kind not in KINDS for kind in kinds):
        parser.error(f"--db: use {', '.join(KINDS)}")
    if sizes[0] < args.sessions + 2:
        parser.error(f"--sizes: the smallest must be at least {args.sessions + 2} rows")
    print(f"flask-strapi-sessions scale benchmark: {os.cpu_count()} CPUs, sizes {sizes}")
    started = time.perf_counter()
    for kind in kinds:
        run(kind, sizes, args.sessions, args.rounds, args.durable)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
