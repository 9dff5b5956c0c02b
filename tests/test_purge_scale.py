"""Purging tens of thousands of old rows: in bounded batches, live rows kept, logins unhindered."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event

from flask_strapi_sessions import StrapiSessions
from flask_strapi_sessions import sessions as session_api
from flask_strapi_sessions.models import ACTIVE, REVOKED, StrapiSession
from flask_strapi_sessions.store import REVOKED_RETENTION_MS
from tests.support import FakeClock, login, register

UP = "users-permissions"
DAY_MS = 86_400_000
INSERT_CHUNK = 5000
LOGIN_WAIT_SECONDS = 60  # a deadline for the login thread, never an expected duration

# Filler rows, relative to now: session-id prefix, status, idle, absolute and revoked times
KINDS: dict[str, tuple[str, str, int, int, int | None]] = {
    "idle-expired": ("ie", ACTIVE, 0, 20 * DAY_MS, None),
    # idle outliving absolute: the store never writes it, but such a row must still go
    "absolute-expired": ("ae", ACTIVE, DAY_MS, 0, None),
    "revoked-long-ago": ("rl", REVOKED, DAY_MS, 20 * DAY_MS, -REVOKED_RETENTION_MS - 1),
    "revoked-recently": ("rr", REVOKED, DAY_MS, 20 * DAY_MS, -DAY_MS),
    "live": ("lv", ACTIVE, DAY_MS, 20 * DAY_MS, None),
}


def insert_rows(app: Flask, now: int, kind: str, count: int, origin: str = UP) -> None:
    """Bulk-insert ``count`` rows of ``kind`` through Core, in chunks."""
    prefix, status, idle, absolute, revoked = KINDS[kind]
    with app.app_context():
        db = app.extensions["sqlalchemy"].session
        for start in range(0, count, INSERT_CHUNK):
            rows = [
                {
                    "session_id": f"{prefix}{origin[:2]}{i:028d}",
                    "origin": origin,
                    "user_id": str(10_000 + i % 5000),
                    "device_id": f"device-{i}",
                    "type": "refresh",
                    "status": status,
                    "generation": 3,
                    "token_hash": f"{i:064x}",
                    "created_at": now - 30 * DAY_MS,
                    "last_used_at": now - DAY_MS,
                    "idle_expires_at": now + idle,
                    "absolute_expires_at": now + absolute,
                    "revoked_at": None if revoked is None else now + revoked,
                }
                for i in range(start, min(start + INSERT_CHUNK, count))
            ]
            db.execute(sa.insert(StrapiSession), rows)
            db.commit()


def snapshot(app: Flask, where: Any) -> dict[str, tuple[Any, ...]]:
    """``session_id`` → the row's mutable columns, for the rows matching ``where``."""
    columns = (
        StrapiSession.status,
        StrapiSession.token_hash,
        StrapiSession.generation,
        StrapiSession.idle_expires_at,
        StrapiSession.revoked_at,
    )
    with app.app_context():
        db = app.extensions["sqlalchemy"].session
        rows = db.execute(sa.select(StrapiSession.session_id, *columns).where(where)).all()
        db.rollback()
    return {row[0]: tuple(row[1:]) for row in rows}


def purgeable_count(app: Flask, now: int) -> int:
    with app.app_context():
        db = app.extensions["sqlalchemy"].session
        count = db.execute(
            sa.select(sa.func.count()).where(
                StrapiSession.origin == UP,
                sa.or_(
                    StrapiSession.idle_expires_at <= now,
                    StrapiSession.absolute_expires_at <= now,
                    StrapiSession.revoked_at <= now - REVOKED_RETENTION_MS,
                ),
            )
        ).scalar_one()
        db.rollback()
    return int(count)


@contextmanager
def deleted_per_statement(app: Flask) -> Iterator[list[int]]:
    """Rows removed by each DELETE the app sends while the block runs."""
    counts: list[int] = []

    def after(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            counts.append(cursor.rowcount)

    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield counts
    finally:
        event.remove(engine, "after_cursor_execute", after)


def test_purge_deletes_every_old_row_in_batches_and_keeps_live_and_recent_ones(
    app: Flask, clock: FakeClock
) -> None:
    now = round(clock() * 1000)
    insert_rows(app, now, "idle-expired", 12_000)
    insert_rows(app, now, "absolute-expired", 4_000)
    insert_rows(app, now, "revoked-long-ago", 4_000)
    insert_rows(app, now, "live", 300)
    insert_rows(app, now, "revoked-recently", 100)
    insert_rows(app, now, "idle-expired", 200, origin="admin")
    kept = snapshot(
        app, StrapiSession.session_id.like("lv%") | StrapiSession.session_id.like("rr%")
    )

    with app.app_context(), deleted_per_statement(app) as deleted:
        removed = StrapiSessions.purge_expired(batch_size=500)

    assert removed == 20_000 + 200  # both origins
    assert len(deleted) == 40 + 1 and max(deleted) == 500  # bounded batches, one DELETE each
    assert purgeable_count(app, now) == 0
    assert snapshot(app, StrapiSession.origin == UP) == kept
    assert len(kept) == 400
    assert snapshot(app, StrapiSession.origin == "admin") == {}  # purged in its own pass


def test_max_batches_bounds_one_purge_run(app: Flask, clock: FakeClock) -> None:
    now = round(clock() * 1000)
    insert_rows(app, now, "idle-expired", 1_000)
    with app.app_context():
        state = StrapiSessions.state()
        db = app.extensions["sqlalchemy"].session
        assert state.up.sessions.purge(db, batch_size=100, max_batches=3) == 300
    assert purgeable_count(app, now) == 700


def test_logins_keep_succeeding_while_a_large_purge_runs(app: Flask, clock: FakeClock) -> None:
    now = round(clock() * 1000)
    insert_rows(app, now, "idle-expired", 30_000)
    insert_rows(app, now, "live", 200)
    live = snapshot(app, StrapiSession.idle_expires_at > now)
    assert register(app.test_client()).status_code == 200

    statuses: list[int] = []
    batches: list[int] = []
    logged_in = threading.Condition()
    purge_done = threading.Event()

    def log_in_repeatedly() -> None:
        client = app.test_client()
        while not purge_done.is_set():
            status = login(client).status_code
            with logged_in:
                statuses.append(status)
                logged_in.notify_all()

    def wait_for_another_login(_session: Any) -> None:
        """Between batches, let a login through, so the two really interleave."""
        batches.append(len(statuses))
        with logged_in:
            seen = len(statuses)
            logged_in.wait_for(lambda: len(statuses) > seen, timeout=LOGIN_WAIT_SECONDS)

    worker = threading.Thread(target=log_in_repeatedly)
    worker.start()
    try:
        with app.app_context():
            db = app.extensions["sqlalchemy"].session
            event.listen(db(), "after_commit", wait_for_another_login)
            try:
                removed = StrapiSessions.purge_expired(batch_size=200)
            finally:
                event.remove(db(), "after_commit", wait_for_another_login)
    finally:
        purge_done.set()
        worker.join(LOGIN_WAIT_SECONDS)
    during = len(statuses)

    assert not worker.is_alive()
    assert len(batches) >= 100  # the logins' own purges take a few batches' worth
    assert during >= len(batches)  # at least one login went through after each batch
    assert set(statuses) == {200}
    assert removed <= 30_000 and purgeable_count(app, now) == 0  # logins purge a little too
    after = snapshot(app, StrapiSession.idle_expires_at > now)
    assert {sid: after[sid] for sid in live} == live
    assert len(after) == len(live) + 1 + during  # register + every login made a session


def test_every_fiftieth_login_purges_one_batch_and_no_more(app: Flask, clock: FakeClock) -> None:
    every, batch = session_api.PURGE_EVERY_N_LOGINS, session_api.PURGE_BATCH
    now = round(clock() * 1000)
    insert_rows(app, now, "idle-expired", 3 * batch)
    client = app.test_client()
    assert register(client).status_code == 200  # the first login of this app
    for _ in range(every - 2):
        assert login(client).status_code == 200
    assert purgeable_count(app, now) == 3 * batch

    assert login(client).status_code == 200  # the 50th
    assert purgeable_count(app, now) == 2 * batch

    for _ in range(every - 1):
        assert login(client).status_code == 200
    assert purgeable_count(app, now) == 2 * batch
    assert login(client).status_code == 200  # the 100th
    assert purgeable_count(app, now) == batch
